// Package controllers holds the reconcilers that turn Sources, SourceEnvironments and
// EventMappings into running ingress workloads, JetStream streams and honest status.
package controllers

// The operator's permissions, generated into config/rbac/role.yaml by `make manifests`.
// Reading its settings ConfigMap (Options.ConfigMap) is granted apart, by a Role in its
// own namespace limited to that one name: config/rbac/config_reader_role.yaml.
// The operator grants each ingress a namespaced Role for exactly what its pods read, so
// it needs the right to create Roles for those resources too.
//
// +kubebuilder:rbac:groups=inlet.dev,resources=sources;sourceenvironments;eventmappings,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=inlet.dev,resources=sources/status;sourceenvironments/status;eventmappings/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=inlet.dev,resources=sources/finalizers;sourceenvironments/finalizers;eventmappings/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=services;serviceaccounts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// The ingress pods list the EndpointSlices of their Service (their Role grants it).
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=list
//
// The operator's metrics endpoint authenticates and authorizes its callers.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
