# inlet: events from a product's other tools, verified, mapped with CEL and published to
# NATS JetStream. `make help` lists the targets.

# Image the operator and the ingress run from.
IMG ?= inlet:dev

# The Kubernetes version of the local control plane; it matches client-go in go.mod.
KUBE_VERSION ?= v1.37.2

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

GOBIN ?= $(shell go env GOPATH)/bin

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRDs and RBAC from the Go markers.
	"$(CONTROLLER_GEN)" rbac:roleName=operator crd paths="./api/...;./controllers/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: controller-gen openapi-gen ## Generate the DeepCopy methods and the OpenAPI schemas of logs.inlet.dev.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt" paths="./api/..."
	"$(OPENAPI_GEN)" --go-header-file hack/boilerplate.go.txt --report-filename /dev/null \
		--output-dir api/logs/v1alpha1 --output-pkg inlet.dev/inlet/api/logs/v1alpha1 \
		--output-file zz_generated.openapi.go --output-model-name-file zz_generated.model_name.go \
		$(foreach p,$(OPENAPI_META),--readonly-pkg $(p)) ./api/logs/v1alpha1 $(OPENAPI_META)
	@# apimachinery's RawExtension description, copied in, holds upstream's own "(TODO: ...)";
	@# say it as what it is, so that no TODO stands in this tree that is not inlet's.
	sed -i 's/(TODO: In the case where/(Not done upstream: in the case where/' api/logs/v1alpha1/zz_generated.openapi.go

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint (kubebuilder's linters, kube-api-linter on api/); fails on any finding.
	"$(GOLANGCI_LINT)" run $(LINT_ARGS)

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint and apply the fixes its linters suggest.
	"$(GOLANGCI_LINT)" run --fix $(LINT_ARGS)

.PHONY: verify-generated
verify-generated: manifests generate ## Fail when generated files are not committed as generated.
	@git diff --exit-code -- api config || { echo "generated files are stale: run 'make generate manifests' and commit"; exit 1; }

.PHONY: test
test: manifests generate fmt vet control-plane kustomize ## Run all tests against a real kube-apiserver, etcd and NATS (builds them on first use).
	KUBEBUILDER_ASSETS="$(CONTROL_PLANE)" go test ./... -count=1 $(TEST_ARGS)
	KUSTOMIZE="$(KUSTOMIZE)" hack/verify-kustomize.sh
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)

FUZZTIME ?= 20000x
.PHONY: fuzz
fuzz: ## Run each fuzz target briefly (FUZZTIME=20000x executions each, or a duration such as 30s).
	@hack/fuzz.sh $(FUZZTIME)

# The end-to-end test runs the built image on a real single-node cluster on this machine
# (test/e2e): it needs root, builds kubelet, kube-controller-manager, kube-scheduler,
# kube-proxy and nats-server once into $(CONTROL_PLANE), installs Debian's containerd,
# runc, CNI plugins, iptables and conntrack when missing, and puts the machine back
# afterwards. E2E_KEEP=1 keeps the cluster running after the checks until Ctrl-C.
E2E_ARGS ?=
.PHONY: e2e
e2e: node-deps node kustomize ## Run the end-to-end test: the image on a real node, deployed as the README says (root; first run builds ~10 min).
	INLET_ASSETS_DIR="$(CONTROL_PLANE)" go test -tags e2e ./test/e2e/ -count=1 -timeout 0 -v $(E2E_ARGS)

.PHONY: node
node: ## Build the control plane and a node's binaries (kubelet, kube-proxy, ...) and nats-server from Go modules.
	@KUBE_VERSION=$(KUBE_VERSION) INLET_ASSETS_DIR="$(CONTROL_PLANE)" WITH_NODE=1 hack/build-control-plane.sh >/dev/null

.PHONY: node-deps
node-deps: ## Install the Debian packages a node needs (containerd, runc, CNI plugins, iptables, conntrack) when missing.
	@hack/node-deps.sh

.PHONY: bench
bench: control-plane ## Run the benchmarks and print the figures docs/benchmarks.md records, the side-by-side table last.
	KUBEBUILDER_ASSETS="$(CONTROL_PLANE)" go test ./ingress/... ./cmd/inlet-ingress/ -run '^$$' -bench . -skip '^BenchmarkCompare$$' -benchmem -count=1 $(BENCH_ARGS)
	$(MAKE) bench-compare

.PHONY: bench-compare
bench-compare: ## Print the side-by-side table of docs/benchmarks.md alone: inlet, a naive gateway and an HTTP-only floor, interleaved (INLET_BENCH_ROUNDS, default 3).
	go test ./ingress/ -run '^$$' -bench '^BenchmarkCompare$$' -count=1 $(BENCH_ARGS)

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the inlet binary into bin/.
	go build -o bin/inlet ./cmd/inlet

.PHONY: install-cli
install-cli: ## Install the inlet CLI into GOBIN, also as the kubectl plugin kubectl-inlet.
	go build -o "$(GOBIN)/inlet" ./cmd/inlet
	ln -sf "$(GOBIN)/inlet" "$(GOBIN)/kubectl-inlet"
	@echo "installed $(GOBIN)/inlet and the kubectl plugin: kubectl inlet --help"

.PHONY: run
run: ## Run inlet locally on its embedded defaults: config/samples served on 127.0.0.1:8080, NATS on 127.0.0.1:4222.
	go build -o bin/inlet ./cmd/inlet
	bin/inlet dev --dir config/samples $(RUN_ARGS)

.PHONY: run-cluster
run-cluster: control-plane ## Run a local control plane (etcd, kube-apiserver) with the CRDs and samples applied.
	go build -o bin/inlet ./cmd/inlet
	bin/inlet cluster --samples config/samples $(RUN_ARGS)

# The image: the static binaries for linux/$(ARCH) (inlet, the entrypoint, and
# inlet-ingress, which the ingress pods run) on no base image (ARCH=arm64 for arm64
# nodes). Every timestamp in it is the last commit's time, so rebuilding a commit with the
# same Go gives the same digest.
ARCH ?= amd64
IMAGE_TAR ?= bin/inlet-image.tar
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
CONTAINER_TOOL ?= docker

.PHONY: image
image: ## Build the image (IMG) as bin/inlet-image.tar without Docker, for linux/ARCH (amd64; ARCH=arm64 for arm64).
	CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) go build -trimpath -ldflags "-s -w" -o bin/inlet-linux-$(ARCH) ./cmd/inlet
	CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) go build -trimpath -ldflags "-s -w" -o bin/inlet-ingress-linux-$(ARCH) ./cmd/inlet-ingress
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) go run ./hack/image --binary bin/inlet-linux-$(ARCH) \
		--ingress-binary bin/inlet-ingress-linux-$(ARCH) --platform linux/$(ARCH) \
		--tag $(IMG) --out $(IMAGE_TAR) --version $(VERSION) --revision "$(REVISION)"
	@echo "Load it with one of:"
	@echo "  docker load -i $(IMAGE_TAR)"
	@echo "  kind load image-archive $(IMAGE_TAR)"
	@echo "  ctr -n k8s.io images import $(IMAGE_TAR)"
	@echo "then: make deploy IMG=$(IMG)"

.PHONY: docker-build
docker-build: ## Build the image (IMG) with Docker from the Dockerfile (needs a Docker daemon; make image doesn't).
	$(CONTAINER_TOOL) build --platform linux/$(ARCH) --build-arg VERSION=$(VERSION) -t $(IMG) .

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests kustomize ## Install the CRDs into the cluster in ~/.kube/config (or KUBECONFIG).
	"$(KUSTOMIZE)" build config/crd | $(KUBECTL) apply -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Remove the CRDs from the cluster.
	"$(KUSTOMIZE)" build config/crd | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

# The NATS server (with JetStream) inlet publishes to, kept in the ConfigMap inlet-config
# in inlet-system, which the operator watches. `make deploy` creates the ConfigMap with
# this value when it does not exist, and changes it only when NATS_URL is given on the
# command line (make deploy NATS_URL=tls://nats.example:4222): deploying again, for a
# new image, never resets what was set in the cluster.
NATS_URL ?= nats://nats.nats:4222
DEPLOY_NAMESPACE = inlet-system
DEPLOY_CONFIGMAP = inlet-config

.PHONY: deploy
deploy: manifests kustomize ## Deploy the operator to the cluster (IMG=image; NATS_URL=url the first time, or to change it).
	cd config/manager && "$(KUSTOMIZE)" edit set image controller=$(IMG)
	"$(KUSTOMIZE)" build config/default | $(KUBECTL) apply -f -
	@if ! $(KUBECTL) -n $(DEPLOY_NAMESPACE) get configmap $(DEPLOY_CONFIGMAP) >/dev/null 2>&1; then \
		echo "creating ConfigMap $(DEPLOY_NAMESPACE)/$(DEPLOY_CONFIGMAP) with NATS_URL=$(NATS_URL)"; \
		$(KUBECTL) -n $(DEPLOY_NAMESPACE) create configmap $(DEPLOY_CONFIGMAP) --from-literal=NATS_URL='$(NATS_URL)'; \
		$(KUBECTL) -n $(DEPLOY_NAMESPACE) label configmap $(DEPLOY_CONFIGMAP) app.kubernetes.io/name=inlet app.kubernetes.io/part-of=inlet app.kubernetes.io/component=operator >/dev/null; \
	elif [ "$(origin NATS_URL)" = "command line" ]; then \
		echo "setting NATS_URL=$(NATS_URL) in ConfigMap $(DEPLOY_NAMESPACE)/$(DEPLOY_CONFIGMAP)"; \
		$(KUBECTL) -n $(DEPLOY_NAMESPACE) patch configmap $(DEPLOY_CONFIGMAP) --type merge -p '{"data":{"NATS_URL":"$(NATS_URL)"}}'; \
	else \
		echo "ConfigMap $(DEPLOY_NAMESPACE)/$(DEPLOY_CONFIGMAP) kept: NATS_URL=$$($(KUBECTL) -n $(DEPLOY_NAMESPACE) get configmap $(DEPLOY_CONFIGMAP) -o jsonpath='{.data.NATS_URL}') (make deploy NATS_URL=... to change it)"; \
	fi

.PHONY: undeploy
undeploy: kustomize ## Remove the operator from the cluster, with its namespace and the inlet-config ConfigMap in it.
	"$(KUSTOMIZE)" build config/default | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

##@ Dependencies

LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p "$(LOCALBIN)"

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
OPENAPI_GEN ?= $(LOCALBIN)/openapi-gen
# The meta packages whose schemas the logs.inlet.dev OpenAPI document includes.
OPENAPI_META = k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/version
KUSTOMIZE ?= $(LOCALBIN)/kustomize
# kubectl: the one on PATH, else the one built with the control plane.
KUBECTL ?= $(shell command -v kubectl || echo "$(CONTROL_PLANE)/kubectl")

# golangci-lint with the logcheck and kube-api-linter module plugins compiled in, built
# from hack/lint, whose go.mod pins the three versions (golangci-lint v2.15.0).
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint

CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.2
# kube-openapi's version in go.mod.
OPENAPI_GEN_VERSION ?= $(shell go list -m -f '{{.Version}}' k8s.io/kube-openapi)

# The control plane (etcd, kube-apiserver, kubectl) is built from Go modules by hack/,
# once per version, into the user's cache, outside the clone.
CONTROL_PLANE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/inlet/control-plane-$(KUBE_VERSION)

.PHONY: control-plane
control-plane: ## Build etcd, kube-apiserver and kubectl from Go modules (first time: ~15 min on 2 cores).
	@KUBE_VERSION=$(KUBE_VERSION) INLET_ASSETS_DIR="$(CONTROL_PLANE)" hack/build-control-plane.sh >/dev/null

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/.
$(CONTROLLER_GEN): $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: openapi-gen
openapi-gen: $(OPENAPI_GEN) ## Install openapi-gen into bin/.
$(OPENAPI_GEN): $(LOCALBIN)
	$(call go-install-tool,$(OPENAPI_GEN),k8s.io/kube-openapi/cmd/openapi-gen,$(OPENAPI_GEN_VERSION))

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Install kustomize into bin/.
$(KUSTOMIZE): $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build golangci-lint with its plugins into bin/ (first time: a few minutes).
$(GOLANGCI_LINT): hack/lint/go.mod hack/lint/go.sum hack/lint/main.go | $(LOCALBIN)
	cd hack/lint && go build -o "$(GOLANGCI_LINT)" .

# go-install-tool will 'go install' any package with custom target and name of binary, if it doesn't exist
# $1 - target path with name of binary
# $2 - package url which can be installed
# $3 - specific version of package
define go-install-tool
@[ -f "$(1)-$(3)" ] && [ "$$(readlink -- "$(1)" 2>/dev/null)" = "$$(realpath -- "$(1)-$(3)")" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Downloading $${package}" ;\
rm -f "$(1)" ;\
GOBIN="$(LOCALBIN)" go install $${package} ;\
mv "$(LOCALBIN)/$$(basename "$(1)")" "$(1)-$(3)" ;\
} ;\
ln -sf "$$(realpath -- "$(1)-$(3)")" "$(1)"
endef
