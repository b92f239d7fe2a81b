// Package testdocs reads, for tests, the manifests users copy from the docs: the fenced
// YAML blocks of Markdown pages such as docs/sources/*.md. No shipped binary imports it.
package testdocs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
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

// Page is one Markdown page of a docs folder and its YAML blocks.
type Page struct {
	// Name is the page's path from the repository's root, e.g. "docs/sources/stripe.md".
	Name string
	// Base is its file name without ".md", e.g. "stripe".
	Base string
	// Blocks are its ```yaml blocks, in order.
	Blocks []Block
}

// SourcePages reads the pages of docs/sources (root is the repository's root, relative
// to the caller), one per Source type and the index. It fails when there are none, or a
// page cannot be read or holds a block left open.
func SourcePages(root string) ([]Page, error) {
	files, err := filepath.Glob(filepath.Join(root, "docs", "sources", "*.md"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no pages in %s", filepath.Join(root, "docs", "sources"))
	}
	pages := make([]Page, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := "docs/sources/" + filepath.Base(f)
		blocks, err := YAMLBlocks(string(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		pages = append(pages, Page{Name: name, Base: strings.TrimSuffix(filepath.Base(f), ".md"), Blocks: blocks})
	}
	return pages, nil
}
