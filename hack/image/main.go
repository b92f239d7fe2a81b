// Command image builds inlet's container image without a Docker daemon, the way ko does:
// one layer holding the static binaries, inlet at /inlet (the entrypoint: the operator
// and the CLI) and inlet-ingress at /inlet-ingress (what the ingress pods run), and the
// build machine's CA bundle, on no base image, written as a tarball that `docker load`,
// `podman load`, `ctr images import` and `kind load image-archive` all read.
//
//	go run ./hack/image --binary bin/inlet-linux-amd64 --ingress-binary bin/inlet-ingress-linux-amd64 \
//		--tag inlet:dev --out bin/inlet-image.tar
//
// The build is reproducible: every timestamp is SOURCE_DATE_EPOCH (or the Unix epoch),
// so two builds from the same binaries give the same image digest.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// binaryPath is where the inlet binary lives in the image; the entrypoint.
	binaryPath = "/inlet"
	// ingressBinaryPath is where the inlet-ingress binary lives in the image: the
	// command of the operator's ingress pods (controllers/ingress_resources.go).
	ingressBinaryPath = "/inlet-ingress"
	// caBundlePath is where the CA bundle lives in the image, as on Debian and in
	// distroless; SSL_CERT_FILE points Go's crypto/x509 at it.
	caBundlePath = "/etc/ssl/certs/ca-certificates.crt"
	// nonroot is the user and group the image runs as: distroless's nonroot, which the
	// operator's and the ingress's pod security contexts (runAsUser: 65532) expect.
	nonroot = 65532
	// refNameAnnotation names an image in an OCI layout's index.json.
	refNameAnnotation = "org.opencontainers.image.ref.name"
)

// options is what one build needs; flags fill it in main, tests fill it directly.
type options struct {
	binary        string    // the static linux inlet binary to put at /inlet
	ingressBinary string    // the static linux inlet-ingress binary to put at /inlet-ingress; none when ""
	tag           string    // the image reference written into the tarball, e.g. inlet:dev
	out           string    // the docker-loadable tarball to write
	ociLayout     string    // optional: an OCI image layout directory to write as well
	platform      string    // os/arch[/variant]
	caBundle      string    // a CA bundle to copy to caBundlePath; "" or a missing file skips it
	source        string    // org.opencontainers.image.source
	version       string    // org.opencontainers.image.version
	revision      string    // org.opencontainers.image.revision; omitted when ""
	created       time.Time // every timestamp in the image
	verifyELF     bool      // check that the binaries are static ELFs for platform
	stdout        io.Writer // where the summary goes
}

func main() {
	o := options{stdout: os.Stdout}
	flag.StringVar(&o.binary, "binary", "", "the static linux inlet binary to put at "+binaryPath+", the entrypoint (required)")
	flag.StringVar(&o.ingressBinary, "ingress-binary", "",
		"the static linux inlet-ingress binary to put at "+ingressBinaryPath+", which the ingress pods run; "+
			"leave it out only for an image of another program (the e2e test's pause image)")
	flag.StringVar(&o.tag, "tag", "inlet:dev", "the image reference recorded in the tarball")
	flag.StringVar(&o.out, "out", "bin/inlet-image.tar",
		"the tarball to write, loadable with docker load, ctr images import or kind load image-archive")
	flag.StringVar(&o.ociLayout, "oci-layout", "", "also write the image into this OCI image layout directory (for crane, skopeo, oras)")
	flag.StringVar(&o.platform, "platform", "linux/amd64", "the image's os/arch[/variant]; the binaries must be built for it")
	flag.StringVar(&o.caBundle, "ca-certs", caBundlePath,
		"the CA bundle to copy into the image at "+caBundlePath+`; skipped when missing or ""`)
	flag.StringVar(&o.source, "source", "https://inlet.dev/inlet", "the org.opencontainers.image.source label")
	flag.StringVar(&o.version, "version", "dev", "the org.opencontainers.image.version label")
	flag.StringVar(&o.revision, "revision", "", "the org.opencontainers.image.revision label (a commit); omitted when empty")
	flag.BoolVar(&o.verifyELF, "verify-elf", true, "fail unless --binary and --ingress-binary are statically linked ELFs for --platform")
	epoch := flag.String("source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"),
		"the Unix time of every timestamp in the image (default $SOURCE_DATE_EPOCH, else 0)")
	flag.Parse()

	if err := run(o, *epoch); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(o options, epoch string) error {
	if o.binary == "" {
		return errors.New("--binary is required")
	}
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", flag.Args())
	}
	if _, err := name.NewTag(o.tag); err != nil {
		return fmt.Errorf("parse tag %q: %w", o.tag, err)
	}
	created, err := parseEpoch(epoch)
	if err != nil {
		return err
	}
	o.created = created
	img, err := build(o)
	if err != nil {
		return err
	}
	return write(o, img)
}

// parseEpoch reads SOURCE_DATE_EPOCH: whole seconds since the Unix epoch; "" means 0.
func parseEpoch(s string) (time.Time, error) {
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("source date epoch %q: want a non-negative number of seconds", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// build assembles the image: OCI media types, one layer, the config that runs /inlet as
// nonroot.
func build(o options) (v1.Image, error) {
	platform, err := v1.ParsePlatform(o.platform)
	if err != nil {
		return nil, fmt.Errorf("parse platform %q: %w", o.platform, err)
	}
	if platform.OS != "linux" {
		return nil, fmt.Errorf("platform %q: only linux images are supported", o.platform)
	}
	if o.verifyELF {
		for _, b := range []string{o.binary, o.ingressBinary} {
			if b == "" {
				continue
			}
			if err := checkELF(b, platform.Architecture); err != nil {
				return nil, err
			}
		}
	}

	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	var ingressBin []byte
	if o.ingressBinary != "" {
		ingressBin, err = os.ReadFile(o.ingressBinary)
		if err != nil {
			return nil, fmt.Errorf("read ingress binary: %w", err)
		}
	}
	var caBundle []byte
	if o.caBundle != "" {
		caBundle, err = os.ReadFile(o.caBundle)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read CA bundle: %w", err)
		}
	}

	layerTar, err := layerContents(bin, ingressBin, caBundle, o.created)
	if err != nil {
		return nil, err
	}
	// Compress once here, deterministically (no name, zero header time), rather than
	// letting the layer recompress on every read of 130 MB of binaries.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(layerTar); err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("create layer: %w", err)
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: o.created},
			CreatedBy: "go run ./hack/image",
			Comment:   "the static inlet binaries at " + binaryPath + " and " + ingressBinaryPath,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: o.created}
	cf.OS = platform.OS
	cf.Architecture = platform.Architecture
	cf.Variant = platform.Variant
	cf.OSVersion = platform.OSVersion
	cf.Author = ""
	cf.Config.Entrypoint = []string{binaryPath}
	cf.Config.Cmd = nil
	cf.Config.User = fmt.Sprintf("%d:%d", nonroot, nonroot)
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin"}
	if caBundle != nil {
		cf.Config.Env = append(cf.Config.Env, "SSL_CERT_FILE="+caBundlePath)
	}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":   "inlet",
		"org.opencontainers.image.source":  o.source,
		"org.opencontainers.image.version": o.version,
	}
	if o.revision != "" {
		cf.Config.Labels["org.opencontainers.image.revision"] = o.revision
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	return img, nil
}

// entry is one file or directory of the layer.
type entry struct {
	name     string // relative to /, as docker export writes them
	mode     int64  // permission bits, plus setuid/setgid/sticky
	uid, gid int
	dir      bool
	data     []byte
}

// layerContents returns the layer's uncompressed tar: /inlet and /inlet-ingress (when
// there is one) owned by nonroot, the CA bundle when there is one, /etc/passwd and /etc/group naming nonroot
// (as distroless does, for anything that looks the user up), nonroot's home and a
// world-writable /tmp.
func layerContents(bin, ingressBin, caBundle []byte, mtime time.Time) ([]byte, error) {
	entries := []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
	}
	if caBundle != nil {
		entries = append(entries,
			entry{name: "etc/ssl/", mode: 0o755, dir: true},
			entry{name: "etc/ssl/certs/", mode: 0o755, dir: true},
			entry{name: strings.TrimPrefix(caBundlePath, "/"), mode: 0o644, data: caBundle},
		)
	}
	entries = append(entries,
		entry{name: "home/", mode: 0o755, dir: true},
		entry{name: "home/nonroot/", mode: 0o700, uid: nonroot, gid: nonroot, dir: true},
		entry{name: strings.TrimPrefix(binaryPath, "/"), mode: 0o755, uid: nonroot, gid: nonroot, data: bin},
	)
	if ingressBin != nil {
		entries = append(entries,
			entry{name: strings.TrimPrefix(ingressBinaryPath, "/"), mode: 0o755, uid: nonroot, gid: nonroot, data: ingressBin})
	}
	entries = append(entries, entry{name: "tmp/", mode: 0o1777, dir: true})

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: mtime,
			Format:  tar.FormatPAX,
		}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("write layer entry %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("write layer entry %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	return buf.Bytes(), nil
}

// elfMachines maps GOARCH to the ELF machine a binary built for it carries.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"386":     elf.EM_386,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

// checkELF fails unless path is an ELF executable for arch with no dynamic loader: a
// binary built for another platform, or with cgo, would not start on an image with no
// libc.
func checkELF(path, arch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("binary %s is not a linux executable (build it with GOOS=linux): %w", path, err)
	}
	defer f.Close()
	want, ok := elfMachines[arch]
	if !ok {
		return fmt.Errorf("platform architecture %q is not supported", arch)
	}
	if f.Machine != want {
		return fmt.Errorf("binary %s is built for %s, not %s (build it with GOARCH=%s)", path, f.Machine, arch, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("binary %s is dynamically linked; the image has no libc (build it with CGO_ENABLED=0)", path)
		}
	}
	return nil
}

// write writes the image to the tarball (through a temporary file, so a failed build
// leaves no half-written tarball) and, if asked, into the OCI layout, then prints a
// summary.
func write(o options, img v1.Image) error {
	tag, err := name.NewTag(o.tag)
	if err != nil {
		return fmt.Errorf("parse tag %q: %w", o.tag, err)
	}
	if dir := filepath.Dir(o.out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create output directory: %w", err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.out), filepath.Base(o.out)+".*")
	if err != nil {
		return fmt.Errorf("create tarball: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if err := tarball.Write(tag, img, tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write tarball: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write tarball: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write tarball: %w", err)
	}
	if err := os.Rename(tmp.Name(), o.out); err != nil {
		return fmt.Errorf("write tarball: %w", err)
	}

	if o.ociLayout != "" {
		p, err := layout.FromPath(o.ociLayout)
		if err != nil {
			p, err = layout.Write(o.ociLayout, empty.Index)
		}
		if err != nil {
			return fmt.Errorf("open OCI layout %s: %w", o.ociLayout, err)
		}
		// Replace the image this tag named before, so rebuilding doesn't pile up entries.
		err = p.ReplaceImage(img, match.Annotation(refNameAnnotation, tag.String()),
			layout.WithAnnotations(map[string]string{refNameAnnotation: tag.String()}))
		if err != nil {
			return fmt.Errorf("write OCI layout %s: %w", o.ociLayout, err)
		}
	}

	digest, err := img.Digest()
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	platform := cf.Platform()
	fmt.Fprintf(o.stdout, "wrote %s: %s %s (%s)\n", o.out, tag, digest, platform)
	return nil
}
