//go:build e2e

// Package e2e runs inlet as its users run it: the image built by `make image`, imported
// into containerd on a real single-node cluster (kube-apiserver, etcd,
// kube-controller-manager, kube-scheduler, kubelet, kube-proxy, containerd, all on this
// machine), deployed with `make deploy`, publishing to a nats-server with JetStream. It
// needs root; `make e2e` builds what it needs and runs it. Everything the node changes on
// the machine is put back when it stops, also when a step fails.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/internal/localcluster"
)

// Names and addresses of the node.
const (
	nodeName    = "inlet-e2e"
	bridgeName  = "inlete2e0"
	podCIDR     = "10.244.0.0/24"
	serviceCIDR = "10.96.0.0/16"
	// sandboxImage is the pause image the test builds; containerd's CRI config names it.
	sandboxImage = "registry.k8s.io/pause:inlet-e2e"
	natsPort     = 4222
	apiPort      = 6443
)

// cl is the single-node cluster TestMain brought up, with inlet deployed in it.
var cl *Cluster

// Cluster is a single-node cluster on this machine.
type Cluster struct {
	Root       string       // the repository root
	Dir        string       // private state folder
	Kubeconfig string       // admin kubeconfig file
	Config     *rest.Config // admin
	NodeIP     string
	NATSURL    string // nats://<NodeIP>:4222, reachable from the host and from pods
	Namespace  string // where the samples are applied

	binDir  string
	cp      *localcluster.ControlPlane
	procs   []*localcluster.Process // started after the control plane, in order
	host    *hostState
	started time.Time
	client  client.Client
}

func newCluster(root, binDir, dir string) *Cluster {
	return &Cluster{Root: root, Dir: dir, binDir: binDir, Namespace: corev1.NamespaceDefault, Kubeconfig: filepath.Join(dir, "kubeconfig")}
}

// step prints a progress line with the time since the cluster started coming up.
func (c *Cluster) step(format string, args ...any) {
	fmt.Printf("e2e [%6.1fs] %s\n", time.Since(c.started).Seconds(), fmt.Sprintf(format, args...))
}

func (c *Cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.Dir}, elem...)...)
}

// logsDir is the folder, in the node's folder and in its control plane's, that holds
// the processes' logs.
const logsDir = "logs"

func (c *Cluster) logDir() string           { return c.path(logsDir) }
func (c *Cluster) containerdSocket() string { return c.path("containerd", "containerd.sock") }

// Up brings the node up. On error, Down still has to be called.
func (c *Cluster) Up(ctx context.Context) error {
	c.started = time.Now()
	if os.Geteuid() != 0 {
		return errors.New("the end-to-end test runs a kubelet and containerd and needs root")
	}
	for _, bin := range []string{
		"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl", "nats-server",
	} {
		if _, err := os.Stat(filepath.Join(c.binDir, bin)); err != nil {
			return fmt.Errorf("%s is not in %s: run `make e2e`, which builds it (WITH_NODE=1 hack/build-control-plane.sh)", bin, c.binDir)
		}
	}
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "iptables", "conntrack", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s is not installed: run `make e2e`, "+
				"which installs containerd, runc, containernetworking-plugins, iptables and conntrack", bin)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		return errors.New("the CNI plugins are not in /usr/lib/cni: apt-get install containernetworking-plugins")
	}
	c.cleanStale()
	if err := os.MkdirAll(c.logDir(), 0o755); err != nil {
		return err
	}
	host, err := recordHost()
	if err != nil {
		return err
	}
	c.host = host
	if data, err := json.Marshal(host); err == nil {
		_ = os.WriteFile(c.path("host-state.json"), data, 0o600)
	}
	if c.NodeIP, err = nodeIP(); err != nil {
		return err
	}
	c.step("node %s at %s; state in %s", nodeName, c.NodeIP, c.Dir)
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enable IP forwarding: %w", err)
	}
	// Pod-to-Service traffic between pods on the bridge needs br_netfilter; the checks
	// reach Services from the host, which works without it.
	if err := os.WriteFile("/proc/sys/net/bridge/bridge-nf-call-iptables", []byte("1"), 0o644); err != nil {
		c.step("warning: cannot set net.bridge.bridge-nf-call-iptables (is br_netfilter loaded?): %v", err)
	}
	steps := []struct {
		name string
		f    func(context.Context) error
	}{
		{"control plane", c.startControlPlane},
		{"nats-server", c.startNATS},
		{"containerd", c.startContainerd},
		{"kubelet", c.startKubelet},
		{"kube-proxy", c.startKubeProxy},
		{"kube-scheduler and kube-controller-manager", c.startControllers},
		{"node ready", c.waitNodeReady},
	}
	for _, s := range steps {
		if err := s.f(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	c.step("cluster up")
	return nil
}

// cleanStale stops what an earlier run that died left running and restores the host
// state it recorded.
func (c *Cluster) cleanStale() {
	data, err := os.ReadFile(c.path("host-state.json"))
	if err != nil {
		return
	}
	fmt.Println("e2e: an earlier run did not clean up; stopping what it left and restoring the host")
	for _, dir := range []string{c.logDir(), c.path("control-plane", logsDir)} {
		localcluster.KillRecorded(dir)
	}
	killShims(c.Dir)
	stale := &hostState{}
	if json.Unmarshal(data, stale) == nil {
		for _, err := range stale.restore() {
			fmt.Println("e2e: restore:", err)
		}
	}
	unmountUnder(c.Dir)
	_ = os.RemoveAll(c.Dir)
}

func (c *Cluster) startControlPlane(ctx context.Context) error {
	c.cp = &localcluster.ControlPlane{
		BinDir:             c.binDir,
		Dir:                c.path("control-plane"),
		BindAddress:        "0.0.0.0",
		AdvertiseAddress:   c.NodeIP,
		Port:               apiPort,
		ServiceCIDR:        serviceCIDR,
		AuthorizationModes: "Node,RBAC",
		ExtraAPIServerArgs: []string{
			"--enable-admission-plugins=NodeRestriction",
			"--kubelet-preferred-address-types=InternalIP,Hostname",
		},
	}
	c.step("starting etcd and kube-apiserver")
	if err := c.cp.Start(ctx); err != nil {
		return err
	}
	c.Config = c.cp.Admin()
	if err := localcluster.WriteKubeconfig(c.Config, c.Kubeconfig, "inlet-e2e"); err != nil {
		return err
	}
	c.step("kube-apiserver ready at %s; kubeconfig %s", c.cp.Host(), c.Kubeconfig)
	return nil
}

// kubeconfigFor writes a kubeconfig for a component's own identity.
func (c *Cluster) kubeconfigFor(name, user string, groups ...string) (string, error) {
	cfg, err := c.cp.UserConfig(user, groups...)
	if err != nil {
		return "", err
	}
	file := c.path("kubeconfigs", name)
	return file, localcluster.WriteKubeconfig(cfg, file, name)
}

func (c *Cluster) start(name string, args ...string) (*localcluster.Process, error) {
	p, err := localcluster.StartProcess(name, c.logDir(), filepath.Join(c.binDir, name), args...)
	if err == nil {
		c.procs = append(c.procs, p)
	}
	return p, err
}

func (c *Cluster) startNATS(ctx context.Context) error {
	c.NATSURL = "nats://" + net.JoinHostPort(c.NodeIP, strconv.Itoa(natsPort))
	if l, err := net.Listen("tcp", fmt.Sprintf(":%d", natsPort)); err != nil {
		return fmt.Errorf("port %d is taken (is `inlet dev` or another NATS running?): %w", natsPort, err)
	} else {
		l.Close()
	}
	p, err := c.start("nats-server", "--jetstream", "--store_dir", c.path("nats"),
		"--addr", "0.0.0.0", "--port", strconv.Itoa(natsPort), "--server_name", "inlet-e2e")
	if err != nil {
		return err
	}
	c.step("nats-server with JetStream at %s", c.NATSURL)
	return localcluster.WaitFor(ctx, "nats-server listening", time.Minute, p, func(context.Context) error {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(c.NodeIP, strconv.Itoa(natsPort)), time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	})
}

func (c *Cluster) startContainerd(ctx context.Context) error {
	cni := c.path("cni", "net.d")
	if err := os.MkdirAll(cni, 0o755); err != nil {
		return err
	}
	cniConf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "inlet-e2e",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, bridgeName, podCIDR, c.path("cni", "ipam"))
	if err := os.WriteFile(filepath.Join(cni, "10-inlet-e2e.conflist"), []byte(cniConf), 0o644); err != nil {
		return err
	}
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
`, c.path("containerd", "root"), c.path("containerd", "state"), c.containerdSocket(), sandboxImage, cni)
	configFile := c.path("containerd", "config.toml")
	if err := os.MkdirAll(filepath.Dir(configFile), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		return err
	}
	bin, _ := exec.LookPath("containerd")
	p, err := localcluster.StartProcess("containerd", c.logDir(), bin, "--config", configFile)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	if err := localcluster.WaitFor(ctx, "containerd serving", time.Minute, p, func(ctx context.Context) error {
		_, err := c.ctr(ctx, "version")
		return err
	}); err != nil {
		return err
	}
	c.step("containerd up; building and importing the sandbox image %s", sandboxImage)
	return c.importPause(ctx)
}

// importPause builds the pause binary, packs it as an image with hack/image (the tool
// `make image` uses) and imports it.
func (c *Cluster) importPause(ctx context.Context) error {
	bin, tar := c.path("pause"), c.path("pause.tar")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./test/e2e/pause")
	build.Dir, build.Env = c.Root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build pause: %w: %s", err, out)
	}
	pack := exec.CommandContext(ctx, "go", "run", "./hack/image", "--binary", bin, "--tag", sandboxImage, "--out", tar, "--ca-certs", "")
	pack.Dir = c.Root
	if out, err := pack.CombinedOutput(); err != nil {
		return fmt.Errorf("pack pause: %w: %s", err, out)
	}
	_, err := c.ctr(ctx, "-n", "k8s.io", "images", "import", tar)
	return err
}

// ctr runs containerd's CLI against this node's containerd.
func (c *Cluster) ctr(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "ctr", append([]string{"--address", c.containerdSocket()}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (c *Cluster) startKubelet(ctx context.Context) error {
	kubeconfig, err := c.kubeconfigFor("kubelet", "system:node:"+nodeName, "system:nodes")
	if err != nil {
		return err
	}
	root := c.path("kubelet")
	config := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://%s
address: %s
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization: {mode: Webhook}
podLogsDir: %s
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%"}
resolvConf: /etc/resolv.conf
maxPods: 60
`, c.containerdSocket(), c.NodeIP, c.cp.CAFile(), c.path("pod-logs"))
	configFile := c.path("kubelet-config.yaml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		return err
	}
	p, err := c.start("kubelet", "--config="+configFile, "--kubeconfig="+kubeconfig,
		"--root-dir="+root, "--cert-dir="+c.path("kubelet-pki"),
		"--hostname-override="+nodeName, "--node-ip="+c.NodeIP, "--v=1")
	if err != nil {
		return err
	}
	c.step("kubelet started; waiting for node %s to register", nodeName)
	return localcluster.WaitFor(ctx, "node registered", 2*time.Minute, p, func(ctx context.Context) error {
		return c.Client().Get(ctx, client.ObjectKey{Name: nodeName}, &corev1.Node{})
	})
}

func (c *Cluster) startKubeProxy(ctx context.Context) error {
	kubeconfig, err := c.kubeconfigFor("kube-proxy", "system:kube-proxy")
	if err != nil {
		return err
	}
	config := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: %s
hostnameOverride: %s
bindAddress: 0.0.0.0
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clientConnection: {kubeconfig: %s}
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`, podCIDR, nodeName, kubeconfig)
	configFile := c.path("kube-proxy-config.yaml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		return err
	}
	p, err := c.start("kube-proxy", "--config="+configFile)
	if err != nil {
		return err
	}
	return localcluster.WaitFor(ctx, "kube-proxy healthy", time.Minute, p, func(ctx context.Context) error {
		_, err := net.DialTimeout("tcp", "127.0.0.1:10256", time.Second)
		return err
	})
}

func (c *Cluster) startControllers(ctx context.Context) error {
	schedulerConfig, err := c.kubeconfigFor("kube-scheduler", "system:kube-scheduler")
	if err != nil {
		return err
	}
	if _, err := c.start("kube-scheduler", "--kubeconfig="+schedulerConfig,
		"--authentication-kubeconfig="+schedulerConfig, "--authorization-kubeconfig="+schedulerConfig,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=10259"); err != nil {
		return err
	}
	cmConfig, err := c.kubeconfigFor("kube-controller-manager", "system:kube-controller-manager")
	if err != nil {
		return err
	}
	pki := c.path("control-plane", "pki")
	_, err = c.start("kube-controller-manager", "--kubeconfig="+cmConfig,
		"--authentication-kubeconfig="+cmConfig, "--authorization-kubeconfig="+cmConfig,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=10257",
		"--service-account-private-key-file="+filepath.Join(pki, "service-account.key"),
		"--root-ca-file="+c.cp.CAFile(), "--use-service-account-credentials=true",
		"--service-cluster-ip-range="+serviceCIDR, "--cluster-cidr="+podCIDR,
		"--node-monitor-grace-period=20s")
	return err
}

func (c *Cluster) waitNodeReady(ctx context.Context) error {
	err := localcluster.WaitFor(ctx, "node Ready", 3*time.Minute, nil, func(ctx context.Context) error {
		node := &corev1.Node{}
		if err := c.Client().Get(ctx, client.ObjectKey{Name: nodeName}, node); err != nil {
			return err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				if cond.Status == corev1.ConditionTrue {
					return nil
				}
				return fmt.Errorf("node %s Ready=%s: %s", nodeName, cond.Status, cond.Message)
			}
		}
		return fmt.Errorf("node %s has no Ready condition yet", nodeName)
	})
	if err != nil {
		return fmt.Errorf("%w\nkubelet log:\n%s", err, localcluster.TailFile(filepath.Join(c.logDir(), "kubelet.log"), 30))
	}
	// Pods need their namespace's service account and the root CA ConfigMap, which the
	// controller-manager creates.
	err = localcluster.WaitFor(ctx, "default service account and kube-root-ca.crt", 2*time.Minute, nil, func(ctx context.Context) error {
		sa := client.ObjectKey{Namespace: corev1.NamespaceDefault, Name: "default"}
		if err := c.Client().Get(ctx, sa, &corev1.ServiceAccount{}); err != nil {
			return err
		}
		return c.Client().Get(ctx, client.ObjectKey{Namespace: corev1.NamespaceDefault, Name: "kube-root-ca.crt"}, &corev1.ConfigMap{})
	})
	if err != nil {
		tail := localcluster.TailFile(filepath.Join(c.logDir(), "kube-controller-manager.log"), 30)
		return fmt.Errorf("%w\nkube-controller-manager log:\n%s", err, tail)
	}
	c.step("node %s Ready", nodeName)
	return nil
}

// Down stops everything and puts the machine back, whatever state Up reached. It
// keeps the logs folder and removes the rest of Dir.
func (c *Cluster) Down() {
	if c.started.IsZero() {
		c.started = time.Now()
	}
	c.step("tearing down")
	if c.cp != nil && c.Config != nil {
		c.deletePods()
	}
	// Reverse order: controllers, kube-proxy, kubelet, containerd, nats.
	for _, v := range slices.Backward(c.procs) {
		v.Stop(15 * time.Second)
	}
	killShims(c.Dir)
	if _, err := os.Stat(filepath.Join(c.binDir, "kube-proxy")); err == nil {
		_ = exec.Command(filepath.Join(c.binDir, "kube-proxy"), "--cleanup").Run()
	}
	if c.cp != nil {
		c.cp.Stop()
	}
	unmountUnder(c.Dir)
	if c.host != nil {
		for _, err := range c.host.restore() {
			fmt.Println("e2e: restore host:", err)
		}
	}
	entries, _ := os.ReadDir(c.Dir)
	for _, e := range entries {
		if e.Name() != logsDir {
			if err := os.RemoveAll(filepath.Join(c.Dir, e.Name())); err != nil {
				fmt.Println("e2e: remove:", err)
			}
		}
	}
	c.step("torn down; logs kept in %s", c.logDir())
}

// deletePods deletes every pod and waits until containerd runs no sandbox, so that the
// kubelet has run CNI DEL and unmounted the pods' volumes.
func (c *Cluster) deletePods() {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// Stop the controllers first, so that nothing makes new pods.
	for _, p := range c.procs {
		if p.Name == "kube-controller-manager" || p.Name == "kube-scheduler" {
			p.Stop(10 * time.Second)
		}
	}
	pods := &corev1.PodList{}
	if err := c.Client().List(ctx, pods); err != nil {
		fmt.Println("e2e: list pods:", err)
		return
	}
	for i := range pods.Items {
		_ = c.Client().Delete(ctx, &pods.Items[i], client.GracePeriodSeconds(1))
	}
	err := localcluster.WaitFor(ctx, "pods gone", 80*time.Second, nil, func(ctx context.Context) error {
		out, err := c.ctr(ctx, "-n", "k8s.io", "tasks", "ls", "-q")
		if err != nil {
			return err
		}
		if n := len(strings.Fields(out)); n > 0 {
			return fmt.Errorf("%d containers still run", n)
		}
		return nil
	})
	if err != nil {
		fmt.Println("e2e:", err)
	}
}

// killShims kills containerd shims (and so their containers) left over from a node
// whose state is under dir.
func killShims(dir string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range procs {
		data, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(data), "containerd-shim") || !strings.Contains(string(data), dir) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	}
}

// nodeIP is the address of the interface of the default route.
func nodeIP() (string, error) {
	conn, err := net.Dial("udp", "192.0.2.1:9")
	if err == nil {
		defer conn.Close()
		if ip := conn.LocalAddr().(*net.UDPAddr).IP; !ip.IsLoopback() {
			return ip.String(), nil
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String(), nil
		}
	}
	return "", errors.New("no non-loopback IPv4 address for the node")
}

// Client is a client for the cluster with client-go's kinds and inlet's.
func (c *Cluster) Client() client.Client {
	if c.client == nil {
		scheme := runtime.NewScheme()
		_ = clientgoscheme.AddToScheme(scheme)
		_ = v1alpha1.AddToScheme(scheme)
		cl, err := client.New(c.Config, client.Options{Scheme: scheme})
		if err != nil {
			panic(err)
		}
		c.client = cl
	}
	return c.client
}

// Kubectl runs kubectl with the admin kubeconfig and returns its combined output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Dump prints what a developer needs to see why a check failed: pods, events, the
// operator's and the ingress pods' logs.
func (c *Cluster) Dump(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{"get", "pods,deployments,services,sourceenvironments,eventmappings", "-A", "-o", "wide"},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
		{"logs", "-n", "inlet-system", "deployment/inlet-operator", "--tail=60"},
		{"logs", "-n", c.Namespace, "-l", "app.kubernetes.io/name=inlet-ingress", "--tail=30", "--prefix"},
	} {
		out, _ := c.Kubectl(ctx, args...)
		t.Logf("$ kubectl %s\n%s", strings.Join(args, " "), out)
	}
	t.Logf("component logs: %s", c.logDir())
}
