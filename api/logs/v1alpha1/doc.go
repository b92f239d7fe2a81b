// Package v1alpha1 contains the logs.inlet.dev/v1alpha1 API: SourceEvent and
// SourceAction, read-only views of the event log stream that the operator serves as an
// aggregated API (`kubectl get sourceevents,sourceactions`). Nothing here is stored in
// etcd: every object is one record of the log stream, and it lives as long as the log
// stream keeps it.
//
// +kubebuilder:object:generate=true
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=dev.inlet.logs.v1alpha1
// +kubebuilder:skip
// +groupName=logs.inlet.dev
package v1alpha1
