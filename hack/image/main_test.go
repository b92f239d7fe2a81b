package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testOptions builds from tiny files standing in for the binaries, with a fixed CA bundle
// so the test doesn't depend on the machine's.
func testOptions(t *testing.T, out string) options {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "inlet")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ingressBin := filepath.Join(dir, "inlet-ingress")
	if err := os.WriteFile(ingressBin, []byte("#!/bin/false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return options{
		binary:        bin,
		ingressBinary: ingressBin,
		tag:           "inlet:dev",
		out:           out,
		platform:      "linux/amd64",
		caBundle:      ca,
		source:        "https://example.com/inlet",
		version:       "v0.1.0",
		created:       time.Unix(0, 0).UTC(),
		stdout:        io.Discard,
	}
}

// buildTarball builds the image into out and reads it back from the tarball, as docker
// load would.
func buildTarball(t *testing.T, o options) v1.Image {
	t.Helper()
	img, err := build(o)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if err := write(o, img); err != nil {
		t.Fatalf("write: %v", err)
	}
	tag, err := name.NewTag(o.tag)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := tarball.ImageFromPath(o.out, &tag)
	if err != nil {
		t.Fatalf("read tarball: %v", err)
	}
	return loaded
}

func TestImage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bin", "inlet-image.tar")
	img := buildTarball(t, testOptions(t, out))

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cf.Config.Entrypoint, []string{"/inlet"}; !slices.Equal(got, want) {
		t.Errorf("Entrypoint = %q, want %q", got, want)
	}
	if cf.Config.Cmd != nil {
		t.Errorf("Cmd = %q, want none", cf.Config.Cmd)
	}
	if got, want := cf.Config.User, "65532:65532"; got != want {
		t.Errorf("User = %q, want %q", got, want)
	}
	if got, want := cf.Config.WorkingDir, "/"; got != want {
		t.Errorf("WorkingDir = %q, want %q", got, want)
	}
	if !slices.Contains(cf.Config.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") {
		t.Errorf("Env = %q, want SSL_CERT_FILE set", cf.Config.Env)
	}
	if got, want := cf.OS+"/"+cf.Architecture, "linux/amd64"; got != want {
		t.Errorf("platform = %q, want %q", got, want)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.source":  "https://example.com/inlet",
		"org.opencontainers.image.version": "v0.1.0",
	} {
		if got := cf.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if !cf.Created.Equal(time.Unix(0, 0)) {
		t.Errorf("Created = %v, want the epoch", cf.Created)
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	files := layerFiles(t, layers[0])

	// Both binaries, each at its path: /inlet, the entrypoint, and /inlet-ingress, which
	// the operator's ingress pods run.
	checkBinary(t, files, "inlet", "#!/bin/true\n")
	checkBinary(t, files, "inlet-ingress", "#!/bin/false\n")
	ca, ok := files["etc/ssl/certs/ca-certificates.crt"]
	if !ok {
		t.Fatalf("no CA bundle in the layer; it holds %q", keys(files))
	}
	if ca.Mode != 0o644 || ca.Uid != 0 || string(ca.content) != "-----BEGIN CERTIFICATE-----\n" {
		t.Errorf("CA bundle: mode %o owner %d, content %q", ca.Mode, ca.Uid, ca.content)
	}
	if tmp := files["tmp/"]; tmp == nil || tmp.Mode != 0o1777 {
		t.Errorf("/tmp missing or not mode 1777: %+v", tmp)
	}
	for entry, f := range files {
		if !f.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: ModTime %v, want the epoch", entry, f.ModTime)
		}
	}

	// The tarball names the image as given, so docker load and ctr import tag it inlet:dev.
	var manifest tarball.Manifest
	raw := tarEntry(t, out, "manifest.json")
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 1 || !slices.Equal(manifest[0].RepoTags, []string{"inlet:dev"}) {
		t.Errorf("manifest.json = %s, want RepoTags [inlet:dev]", raw)
	}
}

// checkBinary checks that the layer holds the binary content at /path, a regular file
// of mode 755 owned by nonroot.
func checkBinary(t *testing.T, files map[string]*file, path, content string) {
	t.Helper()
	bin, ok := files[path]
	if !ok {
		t.Fatalf("no /%s in the layer; it holds %q", path, keys(files))
	}
	if bin.Typeflag != tar.TypeReg || bin.Mode != 0o755 || bin.Uid != 65532 || bin.Gid != 65532 {
		t.Errorf("/%s: type %c mode %o owner %d:%d, want a regular file, mode 755, owner 65532:65532",
			path, bin.Typeflag, bin.Mode, bin.Uid, bin.Gid)
	}
	if got := string(bin.content); got != content {
		t.Errorf("/%s holds %q, want its binary %q", path, got, content)
	}
}

func TestImageWithoutCABundle(t *testing.T) {
	o := testOptions(t, filepath.Join(t.TempDir(), "image.tar"))
	o.caBundle = filepath.Join(t.TempDir(), "missing.crt")
	img := buildTarball(t, o)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range cf.Config.Env {
		if strings.HasPrefix(e, "SSL_CERT_FILE=") {
			t.Errorf("Env has %q with no CA bundle in the image", e)
		}
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if files := layerFiles(t, layers[0]); files["etc/ssl/certs/ca-certificates.crt"] != nil {
		t.Error("the layer holds a CA bundle that does not exist")
	}
}

func TestReproducible(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(t, filepath.Join(dir, "a.tar"))
	a := buildTarball(t, o)
	o.out = filepath.Join(dir, "b.tar")
	b := buildTarball(t, o)

	da, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Errorf("two builds of the same binary: digests %s and %s, want equal", da, db)
	}
	ta, err := os.ReadFile(filepath.Join(dir, "a.tar"))
	if err != nil {
		t.Fatal(err)
	}
	tb, err := os.ReadFile(filepath.Join(dir, "b.tar"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ta, tb) {
		t.Error("two builds of the same binary: tarballs differ")
	}

	// A different SOURCE_DATE_EPOCH is a different image, stamped with that time.
	o.created, err = parseEpoch("1700000000")
	if err != nil {
		t.Fatal(err)
	}
	o.out = filepath.Join(dir, "c.tar")
	c := buildTarball(t, o)
	dc, err := c.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if dc == da {
		t.Error("a different SOURCE_DATE_EPOCH gave the same digest")
	}
	cf, err := c.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(1700000000, 0); !cf.Created.Equal(want) {
		t.Errorf("Created = %v, want %v", cf.Created, want)
	}
}

func TestOCILayout(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(t, filepath.Join(dir, "image.tar"))
	o.ociLayout = filepath.Join(dir, "oci")
	img, err := build(o)
	if err != nil {
		t.Fatal(err)
	}
	// Twice: the second build replaces the first's entry instead of adding one.
	for range 2 {
		if err := write(o, img); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.FromPath(o.ociLayout)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index.json has %d manifests, want 1", len(im.Manifests))
	}
	d := im.Manifests[0]
	if d.MediaType != types.OCIManifestSchema1 || d.Annotations[refNameAnnotation] != "inlet:dev" {
		t.Errorf("index.json entry: %s named %q, want an OCI manifest named inlet:dev", d.MediaType, d.Annotations[refNameAnnotation])
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d.Digest != want {
		t.Errorf("index.json entry digest %s, want %s", d.Digest, want)
	}
}

func TestCheckELF(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "inlet")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkELF(notELF, "amd64"); err == nil || !strings.Contains(err.Error(), "GOOS=linux") {
		t.Errorf("checkELF(a script) = %v, want an error naming GOOS=linux", err)
	}
	o := testOptions(t, filepath.Join(t.TempDir(), "image.tar"))
	o.verifyELF = true
	if _, err := build(o); err == nil {
		t.Error("build accepted a binary that is not ELF")
	}
	o.platform = "windows/amd64"
	if _, err := build(o); err == nil {
		t.Error("build accepted a windows platform")
	}
}

// An image of another program (the e2e test's pause image) holds /inlet alone; an
// --ingress-binary that does not exist fails the build.
func TestImageWithoutIngressBinary(t *testing.T) {
	o := testOptions(t, filepath.Join(t.TempDir(), "image.tar"))
	o.ingressBinary = ""
	img := buildTarball(t, o)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := layerFiles(t, layers[0])
	if files["inlet"] == nil || files["inlet-ingress"] != nil {
		t.Errorf("image without --ingress-binary holds %q, want /inlet and no /inlet-ingress", keys(files))
	}
	o = testOptions(t, filepath.Join(t.TempDir(), "image.tar"))
	o.ingressBinary = filepath.Join(t.TempDir(), "missing")
	if _, err := build(o); err == nil {
		t.Error("build accepted an ingress binary that does not exist")
	}
}

func TestParseEpoch(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    int64
		wantErr bool
	}{
		"unset":    {in: "", want: 0},
		"seconds":  {in: "1700000000", want: 1700000000},
		"negative": {in: "-1", wantErr: true},
		"garbage":  {in: "yesterday", wantErr: true},
	}
	for title, tt := range tests {
		t.Run(title, func(t *testing.T) {
			got, err := parseEpoch(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseEpoch(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got.Unix() != tt.want {
				t.Errorf("parseEpoch(%q) = %d, want %d", tt.in, got.Unix(), tt.want)
			}
		})
	}
}

// file is one entry of a layer.
type file struct {
	*tar.Header
	content []byte
}

// layerFiles reads a layer's uncompressed tar into a map by entry name.
func layerFiles(t *testing.T, l v1.Layer) map[string]*file {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]*file{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = &file{Header: h, content: b}
	}
}

// tarEntry returns one file of the image tarball.
func tarEntry(t *testing.T, path, entry string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s in %s: %v", entry, path, err)
		}
		if h.Name == entry {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

func keys(m map[string]*file) []string { return slices.Sorted(maps.Keys(m)) }
