//go:build e2e

package e2e

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// hostState is what the node changes on this machine outside its private folder,
// recorded before it starts so that tearing down puts it back.
type hostState struct {
	// Sysctls and their values before.
	Sysctls map[string]string
	// IPTables is the output of iptables-save and ip6tables-save before, by command.
	IPTables map[string]string
	// MissingPaths are paths that did not exist before (removed afterwards).
	MissingPaths []string
	// NetNS are the network namespaces that existed before.
	NetNS []string
	// Cgroups are the kubelet's cgroups (kubepods in each v1 hierarchy) that did not
	// exist before.
	Cgroups []string
}

// sysctls the kubelet, kube-proxy and the node set.
var sysctls = []string{
	"net/ipv4/ip_forward",
	"net/ipv4/conf/all/route_localnet",
	"net/bridge/bridge-nf-call-iptables",
	"net/bridge/bridge-nf-call-ip6tables",
	"vm/overcommit_memory",
	"vm/panic_on_oom",
	"kernel/panic",
	"kernel/panic_on_oops",
	"kernel/keys/root_maxkeys",
	"kernel/keys/root_maxbytes",
	"kernel/keys/maxkeys",
	"kernel/keys/maxbytes",
}

// pathsOutside are the fixed paths the node's components write outside their folder.
var pathsOutside = []string{
	"/var/lib/cni",
	"/var/lib/kubelet",
	"/run/containerd",
	"/var/log/pods",
	"/var/log/containers",
	"/etc/cni",
	"/run/netns",
}

func recordHost() (*hostState, error) {
	h := &hostState{Sysctls: map[string]string{}, IPTables: map[string]string{}}
	for _, s := range sysctls {
		if v, err := os.ReadFile(filepath.Join("/proc/sys", s)); err == nil {
			h.Sysctls[s] = strings.TrimSpace(string(v))
		}
	}
	for _, cmd := range []string{"iptables", "ip6tables"} {
		out, err := exec.Command(cmd + "-save").Output()
		if err != nil {
			return nil, fmt.Errorf("%s-save: %w (is iptables installed?)", cmd, err)
		}
		h.IPTables[cmd] = string(out)
	}
	for _, p := range pathsOutside {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			h.MissingPaths = append(h.MissingPaths, p)
		}
	}
	h.NetNS = netNamespaces()
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, d := range append(hierarchies, "/sys/fs/cgroup") {
		p := filepath.Join(d, "kubepods")
		if _, err := os.Stat(p); os.IsNotExist(err) {
			h.Cgroups = append(h.Cgroups, p)
		}
	}
	return h, nil
}

// restore puts the machine back as recorded and returns what it could not.
func (h *hostState) restore() []error {
	var errs []error
	// Network namespaces the pods had (CNI DEL normally removes them).
	for _, ns := range netNamespaces() {
		if !slices.Contains(h.NetNS, ns) && strings.HasPrefix(ns, "cni-") {
			_ = syscall.Unmount(filepath.Join("/run/netns", ns), syscall.MNT_DETACH)
			if err := run("ip", "netns", "delete", ns); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := run("ip", "link", "show", bridgeName); err == nil {
		if err := run("ip", "link", "delete", bridgeName); err != nil {
			errs = append(errs, err)
		}
	}
	for cmd, saved := range h.IPTables {
		if err := restoreIPTables(cmd, saved); err != nil {
			errs = append(errs, err)
		}
	}
	for s, v := range h.Sysctls {
		file := filepath.Join("/proc/sys", s)
		if now, err := os.ReadFile(file); err == nil && strings.TrimSpace(string(now)) != v {
			if err := os.WriteFile(file, []byte(v), 0o644); err != nil {
				errs = append(errs, fmt.Errorf("restore sysctl %s=%s: %w", s, v, err))
			}
		}
	}
	for _, cg := range h.Cgroups {
		if err := removeCgroup(cg); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range h.MissingPaths {
		unmountUnder(p)
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// restoreIPTables restores the saved tables, and empties the tables that did not
// exist before (iptables-restore only touches the tables it is given).
func restoreIPTables(cmd, saved string) error {
	restore := exec.Command(cmd + "-restore")
	restore.Stdin = strings.NewReader(saved)
	if out, err := restore.CombinedOutput(); err != nil {
		return fmt.Errorf("%s-restore: %w: %s", cmd, err, out)
	}
	now, err := exec.Command(cmd + "-save").Output()
	if err != nil {
		return err
	}
	for _, table := range tables(string(now)) {
		if !slices.Contains(tables(saved), table) {
			_ = run(cmd, "-t", table, "-F")
			_ = run(cmd, "-t", table, "-X")
		}
	}
	return nil
}

// tables lists the tables an iptables-save output holds.
func tables(save string) []string {
	var out []string
	for line := range strings.SplitSeq(save, "\n") {
		if after, ok := strings.CutPrefix(line, "*"); ok {
			out = append(out, after)
		}
	}
	return out
}

// removeCgroup removes a cgroup folder and the cgroups below it, deepest first (a
// cgroup is removed with rmdir once it holds no process and no child).
func removeCgroup(dir string) error {
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil
	}
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	deepestFirst(dirs)
	var last error
	for _, d := range dirs {
		if err := syscall.Rmdir(d); err != nil && !os.IsNotExist(err) {
			last = fmt.Errorf("remove cgroup %s: %w", d, err)
		}
	}
	return last
}

// deepestFirst orders paths longest first, so that a path comes before its parents.
func deepestFirst(paths []string) {
	slices.SortFunc(paths, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
}

func netNamespaces() []string {
	entries, _ := os.ReadDir("/run/netns")
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// unmountUnder unmounts every mount point at or below dir, deepest first.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		p := unescapeMount(f[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	deepestFirst(points)
	for _, p := range points {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
