#!/usr/bin/env bash
# Renders config/default, what `make deploy` applies, and checks what the deployment
# relies on: everything lands in inlet-system with names prefixed inlet-, the RBAC
# bindings name the operator's ServiceAccount, the operator's Deployment runs
# `inlet operator` reading the inlet-config ConfigMap of its own namespace (which is not
# rendered: `make deploy` creates it only when absent, so a user's NATS_URL is never
# reset) through a Role for that one ConfigMap, and INLET_IMAGE equals its own image,
# also when the image is overridden as `make deploy IMG=...` does; the APIService of the
# event log API reaches the operator through its Service, with the RBAC of delegated
# authentication.
#
#   hack/verify-kustomize.sh        (KUSTOMIZE=path/to/kustomize to pick the binary)
#
# It changes no files: the IMG override is rendered from a temporary copy of config/.
set -euo pipefail
cd "$(dirname "$0")/.."

KUSTOMIZE=${KUSTOMIZE:-bin/kustomize}
if [[ ! -x $KUSTOMIZE ]]; then
	KUSTOMIZE=$(command -v kustomize) || { echo "no kustomize: run 'make kustomize'" >&2; exit 1; }
fi
KUSTOMIZE=$(realpath "$KUSTOMIZE")

failed=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failed=1; }

# doc KIND NAME: prints the one document of that kind and metadata.name from $rendered.
doc() {
	awk -v kind="$1" -v name="$2" '
		function flush() { if (k == kind && n == name) printf "%s", buf; buf = ""; k = ""; n = ""; top = "" }
		/^---$/ { flush(); next }
		{ buf = buf $0 "\n" }
		/^[^ ]/ { top = $1 }
		/^kind: / { k = $2 }
		top == "metadata:" && /^  name: / { n = $2 }
		END { flush() }
	' <<<"$rendered"
}

# metadata FIELD: prints "kind name value" for each document's metadata.FIELD.
metadata() {
	awk -v field="$1" '
		/^---$/ { top = ""; next }
		/^[^ ]/ { top = $1 }
		/^kind: / { k = $2 }
		top == "metadata:" && $0 ~ "^  " field ": " { print k, $2 }
	' <<<"$rendered"
}

# has DOC LINE...: every LINE is a whole line of DOC.
has() {
	local d=$1 line
	shift
	for line; do
		grep -qxF -- "$line" <<<"$d" || return 1
	done
}

# verify LABEL [IMAGE]: checks $rendered; IMAGE, when given, is the image it must run.
verify() {
	local label=$1 want_image=${2:-}

	has "$(doc Namespace inlet-system)" "kind: Namespace" &&
		pass "$label: Namespace inlet-system" || fail "$label: no Namespace inlet-system"

	local bad
	bad=$(metadata namespace | awk '$2 != "inlet-system"')
	[[ -z $bad ]] && pass "$label: every namespaced object is in inlet-system" ||
		fail "$label: objects outside inlet-system: $bad"
	# A CRD's and an APIService's names are fixed by their group.
	bad=$(metadata name | awk '$1 != "CustomResourceDefinition" && $1 != "APIService" && $2 !~ /^inlet-/')
	[[ -z $bad ]] && pass "$label: every name is prefixed inlet-" ||
		fail "$label: names without the inlet- prefix: $bad"

	has "$(doc ServiceAccount inlet-operator)" "  namespace: inlet-system" &&
		pass "$label: ServiceAccount inlet-operator" || fail "$label: no ServiceAccount inlet-operator in inlet-system"
	local subject=("- kind: ServiceAccount" "  name: inlet-operator" "  namespace: inlet-system")
	has "$(doc ClusterRoleBinding inlet-operator)" "  name: inlet-operator" "${subject[@]}" &&
		[[ $(doc ClusterRoleBinding inlet-operator | grep -A3 '^subjects:' | tail -n +2) == "$(printf '%s\n' "${subject[@]}")" ]] &&
		pass "$label: ClusterRoleBinding inlet-operator binds ClusterRole inlet-operator to inlet-system/inlet-operator" ||
		fail "$label: ClusterRoleBinding inlet-operator does not bind inlet-system/inlet-operator"
	[[ $(doc RoleBinding inlet-leader-election | grep -A3 '^subjects:' | tail -n +2) == "$(printf '%s\n' "${subject[@]}")" ]] &&
		pass "$label: RoleBinding inlet-leader-election binds inlet-system/inlet-operator" ||
		fail "$label: RoleBinding inlet-leader-election does not bind inlet-system/inlet-operator"

	[[ -z $(metadata name | awk '$1 == "ConfigMap"') ]] &&
		pass "$label: no ConfigMap rendered (make deploy creates inlet-config when absent)" ||
		fail "$label: a ConfigMap is rendered; applying again would reset the user's settings"
	local reader
	reader=$(doc Role inlet-config-reader)
	has "$reader" "  namespace: inlet-system" "  - configmaps" "  - inlet-config" &&
		[[ $(grep -c '^- ' <<<"$reader") == 1 && $(grep -c '^  - ' <<<"$reader") == 6 ]] &&
		[[ $(sed -n '/^  verbs:/,$p' <<<"$reader" | grep -c '^  - ') == 3 ]] &&
		has "$reader" "  - get" "  - list" "  - watch" &&
		pass "$label: Role inlet-config-reader reads only ConfigMap inlet-config in inlet-system" ||
		fail "$label: Role inlet-config-reader missing or broader than get/list/watch on configmaps/inlet-config"
	[[ $(doc RoleBinding inlet-config-reader | grep -A3 '^subjects:' | tail -n +2) == "$(printf '%s\n' "${subject[@]}")" ]] &&
		pass "$label: RoleBinding inlet-config-reader binds inlet-system/inlet-operator" ||
		fail "$label: RoleBinding inlet-config-reader does not bind inlet-system/inlet-operator"

	local deploy
	deploy=$(doc Deployment inlet-operator)
	has "$deploy" "  namespace: inlet-system" "      serviceAccountName: inlet-operator" &&
		pass "$label: Deployment inlet-operator runs as inlet-operator" ||
		fail "$label: Deployment inlet-operator missing or not running as ServiceAccount inlet-operator"
	has "$deploy" '        - /inlet' '        - operator' '        - --leader-elect' \
		'        - --health-probe-bind-address=:8081' '        - --metrics-bind-address=:8443' \
		'        - --config-map=inlet-config' '        - --ingress-image=$(INLET_IMAGE)' &&
		pass "$label: Deployment inlet-operator runs inlet operator with its flags" ||
		fail "$label: Deployment inlet-operator's command or args differ"
	grep -A3 -xF -- '        - name: POD_NAMESPACE' <<<"$deploy" | grep -qxF '              fieldPath: metadata.namespace' &&
		pass "$label: POD_NAMESPACE, where inlet-config is read, is the operator's namespace" ||
		fail "$label: POD_NAMESPACE is not the downward API's metadata.namespace"
	# The event log API: the APIService reaches the operator's logs-api port through
	# the Service, and the operator may delegate authentication and authorization.
	has "$(doc APIService v1alpha1.logs.inlet.dev)" "  group: logs.inlet.dev" "  version: v1alpha1" \
		"    name: inlet-logs-api" "    namespace: inlet-system" "    port: 443" &&
		pass "$label: APIService v1alpha1.logs.inlet.dev points at inlet-system/inlet-logs-api:443" ||
		fail "$label: APIService v1alpha1.logs.inlet.dev does not point at inlet-system/inlet-logs-api:443"
	has "$(doc Service inlet-logs-api)" "    app.kubernetes.io/component: operator" "    targetPort: logs-api" &&
		has "$deploy" "        - --logs-api-bind-address=:8444" "        - containerPort: 8444" "          name: logs-api" &&
		pass "$label: Service inlet-logs-api reaches the operator's logs API on :8444" ||
		fail "$label: Service inlet-logs-api does not reach the operator's --logs-api-bind-address"
	for binding in inlet-logs-api-auth-delegator inlet-logs-api-auth-reader; do
		has "$(doc ClusterRoleBinding "$binding")" "${subject[@]}" &&
			pass "$label: ClusterRoleBinding $binding binds inlet-system/inlet-operator" ||
			fail "$label: ClusterRoleBinding $binding does not bind inlet-system/inlet-operator"
	done

	! grep -q 'configMapKeyRef' <<<"$deploy" &&
		pass "$label: the operator starts without the ConfigMap (no configMapKeyRef)" ||
		fail "$label: the operator's env needs a ConfigMap key to start"

	local image env_image
	image=$(sed -n 's/^        image: //p' <<<"$deploy")
	env_image=$(grep -A1 -xF -- '        - name: INLET_IMAGE' <<<"$deploy" | sed -n 's/^          value: //p' || true)
	if [[ -n $image && $image == "$env_image" && $image != controller* ]]; then
		pass "$label: INLET_IMAGE is the operator's image ($image)"
	else
		fail "$label: image '$image' but INLET_IMAGE '$env_image'"
	fi
	if [[ -n $want_image ]]; then
		[[ $image == "$want_image" ]] && pass "$label: the image is $want_image" ||
			fail "$label: the image is '$image', want $want_image"
	fi
}

rendered=$("$KUSTOMIZE" build config/default)
verify "config/default"

# What `make deploy IMG=...` renders, from a copy so the tree is left as it is.
img=registry.example.com/inlet:verify
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -R config "$tmp/"
(cd "$tmp/config/manager" && "$KUSTOMIZE" edit set image "controller=$img")
rendered=$("$KUSTOMIZE" build "$tmp/config/default")
verify "IMG=$img" "$img"

if ((failed)); then
	echo "config/default: checks failed" >&2
	exit 1
fi
echo "config/default: all checks passed"
