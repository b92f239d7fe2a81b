// Package localcluster runs a real Kubernetes control plane on this machine — etcd and
// kube-apiserver built from Go modules by hack/build-control-plane.sh — with
// certificates it makes itself. `inlet cluster` runs one for the operator path on a
// laptop, and the end-to-end test (test/e2e) adds a node to it. It is not a test helper:
// it writes only under its own folder and links nothing test-only into a binary.
package localcluster

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ControlPlane is etcd and kube-apiserver, with everything they keep under Dir.
type ControlPlane struct {
	// BinDir holds the etcd and kube-apiserver binaries.
	BinDir string
	// Dir holds the certificates, etcd's data and the logs. Each Start begins with an
	// empty etcd and new certificates.
	Dir string
	// BindAddress is where kube-apiserver listens (default 127.0.0.1); AdvertiseAddress
	// what it tells clients in the cluster (default BindAddress, or 127.0.0.1 when
	// BindAddress is 0.0.0.0). Port 0 picks a free port.
	BindAddress, AdvertiseAddress string
	Port                          int
	// ServiceCIDR is the Services' cluster IP range (default 10.96.0.0/16).
	ServiceCIDR string
	// AuthorizationModes is kube-apiserver's --authorization-mode (default RBAC;
	// Node,RBAC for a cluster with a kubelet).
	AuthorizationModes string
	// ExtraAPIServerArgs are added to kube-apiserver's command line.
	ExtraAPIServerArgs []string
	// Progress, when set, receives a line per step.
	Progress io.Writer

	ca        *authority
	etcd      *Process
	apiserver *Process
	host      string
	etcdURL   string
	admin     *rest.Config
}

// The files of a control plane under Dir.
const (
	pkiDir  = "pki"
	logsDir = "logs"
)

// loopback is the address etcd always listens on, and the API server unless told otherwise.
const loopback = "127.0.0.1"

// Start starts etcd and kube-apiserver and waits until the API server is ready.
func (c *ControlPlane) Start(ctx context.Context) error {
	if c.BindAddress == "" {
		c.BindAddress = loopback
	}
	if c.AdvertiseAddress == "" {
		c.AdvertiseAddress = c.BindAddress
		if c.BindAddress == "0.0.0.0" {
			c.AdvertiseAddress = loopback
		}
	}
	if c.ServiceCIDR == "" {
		c.ServiceCIDR = "10.96.0.0/16"
	}
	for _, bin := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(c.BinDir, bin)); err != nil {
			return fmt.Errorf("%s is not in %s: run `make control-plane` to build it", bin, c.BinDir)
		}
	}
	pki := c.path(pkiDir)
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return err
	}
	KillRecorded(c.path(logsDir))
	var err error
	if c.ca, err = newAuthority("inlet-local-ca"); err != nil {
		return err
	}
	if err := os.WriteFile(c.CAFile(), c.ca.pem, 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(c.path("etcd")); err != nil {
		return err
	}
	if err := c.startEtcd(ctx); err != nil {
		return err
	}
	if err := c.startAPIServer(ctx); err != nil {
		c.Stop()
		return err
	}
	return nil
}

func (c *ControlPlane) step(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

func (c *ControlPlane) path(elem ...string) string {
	return filepath.Join(append([]string{c.Dir}, elem...)...)
}

// CAFile is the PEM file of the certificate authority that signed every certificate.
func (c *ControlPlane) CAFile() string { return c.path(pkiDir, "ca.crt") }

// Host is the API server's URL, https://<advertise address>:<port>.
func (c *ControlPlane) Host() string { return c.host }

// LogDir is where each server's log is.
func (c *ControlPlane) LogDir() string { return c.path(logsDir) }

func (c *ControlPlane) startEtcd(ctx context.Context) error {
	clientPort, err := FreePort(loopback)
	if err != nil {
		return err
	}
	peerPort, err := FreePort(loopback)
	if err != nil {
		return err
	}
	client := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	c.step("starting etcd on %s", client)
	c.etcd, err = StartProcess("etcd", c.path(logsDir), filepath.Join(c.BinDir, "etcd"),
		"--name=local", "--data-dir="+c.path("etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=local="+peer, "--initial-cluster-state=new",
		"--unsafe-no-fsync=true", "--log-level=warn")
	if err != nil {
		return err
	}
	c.etcdURL = client
	return WaitFor(ctx, "etcd healthy", 60*time.Second, c.etcd, func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, client+"/health")
	})
}

func (c *ControlPlane) startAPIServer(ctx context.Context) error {
	pki := c.path(pkiDir)
	port := c.Port
	if port == 0 {
		var err error
		if port, err = FreePort(c.BindAddress); err != nil {
			return err
		}
	}
	c.host = "https://" + net.JoinHostPort(c.AdvertiseAddress, strconv.Itoa(port))
	firstServiceIP, err := firstIP(c.ServiceCIDR)
	if err != nil {
		return err
	}
	hosts := []string{"localhost", loopback, c.AdvertiseAddress, firstServiceIP,
		"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	serving, err := c.ca.issue("kube-apiserver", nil, hosts)
	if err != nil {
		return err
	}
	servingCert, servingKey, err := serving.write(pki, "apiserver")
	if err != nil {
		return err
	}
	kubeletClient, err := c.ca.issue("kube-apiserver-kubelet-client", []string{"system:masters"}, nil)
	if err != nil {
		return err
	}
	kubeletCert, kubeletKey, err := kubeletClient.write(pki, "apiserver-kubelet-client")
	if err != nil {
		return err
	}
	saKey, saPub, err := writeSigningKey(pki)
	if err != nil {
		return err
	}
	frontProxy, err := c.writeFrontProxy(pki)
	if err != nil {
		return err
	}
	args := []string{
		"--etcd-servers=" + c.etcdURL,
		"--bind-address=" + c.BindAddress,
		"--advertise-address=" + c.AdvertiseAddress,
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + pki,
		"--tls-cert-file=" + servingCert,
		"--tls-private-key-file=" + servingKey,
		"--client-ca-file=" + c.CAFile(),
		"--kubelet-client-certificate=" + kubeletCert,
		"--kubelet-client-key=" + kubeletKey,
		"--service-cluster-ip-range=" + c.ServiceCIDR,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + saPub,
		"--service-account-signing-key-file=" + saKey,
		"--authorization-mode=" + cmp.Or(c.AuthorizationModes, "RBAC"),
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
	}
	args = append(args, frontProxy...)
	if ip := net.ParseIP(c.AdvertiseAddress); ip != nil && ip.IsLoopback() {
		// The kubernetes Service cannot point at a loopback address; with no node,
		// nothing in the cluster needs it.
		args = append(args, "--endpoint-reconciler-type=none")
	}
	args = append(args, c.ExtraAPIServerArgs...)
	c.step("starting kube-apiserver on %s", c.host)
	if c.apiserver, err = StartProcess("kube-apiserver", c.path(logsDir), filepath.Join(c.BinDir, "kube-apiserver"), args...); err != nil {
		return err
	}
	admin, err := c.UserConfig("inlet-admin", "system:masters")
	if err != nil {
		return err
	}
	c.admin = admin
	httpClient, err := rest.HTTPClientFor(admin)
	if err != nil {
		return err
	}
	return WaitFor(ctx, "kube-apiserver ready", 3*time.Minute, c.apiserver, func(ctx context.Context) error {
		return httpOK(ctx, httpClient, c.host+"/readyz")
	})
}

// UserConfig returns a client configuration that authenticates with a new client
// certificate for user in groups.
func (c *ControlPlane) UserConfig(user string, groups ...string) (*rest.Config, error) {
	pair, err := c.ca.issue(user, groups, nil)
	if err != nil {
		return nil, err
	}
	return &rest.Config{
		Host: c.host,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   c.ca.pem,
			CertData: pair.cert,
			KeyData:  pair.key,
		},
		QPS:   50,
		Burst: 100,
	}, nil
}

// Admin is the configuration of a cluster administrator (system:masters).
func (c *ControlPlane) Admin() *rest.Config { return rest.CopyConfig(c.admin) }

// WriteKubeconfig writes cfg as a kubeconfig file, mode 0600.
func WriteKubeconfig(cfg *rest.Config, file, name string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: "default"}
	kc.CurrentContext = name
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*kc, file)
}

// Stop stops kube-apiserver, then etcd.
func (c *ControlPlane) Stop() {
	for _, p := range []*Process{c.apiserver, c.etcd} {
		if p != nil {
			c.step("stopping %s", p.Name)
			p.Stop(10 * time.Second)
		}
	}
}

func httpOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, body)
	}
	return nil
}

// firstIP is the first address of a CIDR, the API server's own Service IP.
func firstIP(cidr string) (string, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return "", err
	}
	ip := n.IP.To4()
	if ip == nil {
		return "", fmt.Errorf("%s: only IPv4 service ranges are supported", cidr)
	}
	out := make(net.IP, 4)
	copy(out, ip)
	out[3]++
	return out.String(), nil
}

// frontProxyClient is the name the kube-apiserver's proxy client certificate carries,
// the one name aggregated API servers accept it under.
const frontProxyClient = "front-proxy-client"

// writeFrontProxy writes the front proxy's CA and client certificate and returns the
// kube-apiserver flags that use them: the API server proxies requests for aggregated
// APIs (inlet's logs.inlet.dev) with that certificate and the user in X-Remote-*
// headers, and publishes the CA and header names in
// kube-system/extension-apiserver-authentication for the aggregated servers. The CA
// is its own, so that no other client certificate of the cluster passes as the proxy.
func (c *ControlPlane) writeFrontProxy(pki string) ([]string, error) {
	ca, err := newAuthority("front-proxy-ca")
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(pki, "front-proxy-ca.crt")
	if err := os.WriteFile(caFile, ca.pem, 0o644); err != nil {
		return nil, err
	}
	client, err := ca.issue(frontProxyClient, nil, nil)
	if err != nil {
		return nil, err
	}
	cert, key, err := client.write(pki, frontProxyClient)
	if err != nil {
		return nil, err
	}
	return []string{
		"--requestheader-client-ca-file=" + caFile,
		"--requestheader-allowed-names=" + frontProxyClient,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + cert,
		"--proxy-client-key-file=" + key,
	}, nil
}
