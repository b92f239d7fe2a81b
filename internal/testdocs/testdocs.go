// Package testdocs reads, for tests, the manifests users copy from the docs: the fenced
// YAML blocks of Markdown pages such as docs/sources/*.md. No shipped binary imports it.
package testdocs

import (
	"bufio"
	"fmt"
	"regexp"
	"strings"
)

// Block is one fenced YAML block of a Markdown page.
type Block struct {
	// Line is the line of the opening fence, from 1.
	Line int
	// Text is the block's content, without the fences and the fence's indentation.
	Text string
}

// hasAPIVersion matches a block holding at least one whole manifest.
var hasAPIVersion = regexp.MustCompile(`(?m)^apiVersion:`)

// Manifest reports whether the block holds at least one whole manifest: a top-level
// apiVersion. A block without one is a fragment (a few fields of a larger manifest).
func (b Block) Manifest() bool {
	return hasAPIVersion.MatchString(b.Text)
}

// YAMLBlocks returns the ```yaml and ```yml blocks of a Markdown page, in order. A
// fence may be indented (in a list); that indentation is removed from the block's
// lines. It fails on a block left open.
func YAMLBlocks(page string) ([]Block, error) {
	var blocks []Block
	var open *Block
	var indent string
	scanner := bufio.NewScanner(strings.NewReader(page))
	for n := 1; scanner.Scan(); n++ {
		line := scanner.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case open == nil && (trimmed == "```yaml" || trimmed == "```yml"):
			open = &Block{Line: n}
			indent = line[:strings.Index(line, "`")]
		case open != nil && trimmed == "```":
			blocks = append(blocks, *open)
			open = nil
		case open != nil:
			open.Text += strings.TrimPrefix(line, indent) + "\n"
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	if open != nil {
		return blocks, fmt.Errorf("the yaml block at line %d is not closed", open.Line)
	}
	return blocks, nil
}
