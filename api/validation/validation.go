// Package validation checks inlet manifests without an API server, with the rules the
// API server applies to them: the CRDs' OpenAPI schemas (types, enums, patterns,
// lengths, required fields, item counts), their defaults, their x-kubernetes-validations
// CEL rules and the metadata rules for custom resources. It uses the API server's own
// code, k8s.io/apiextensions-apiserver, on the CRDs embedded in inlet.dev/inlet/config/crd,
// and reports the field paths and messages the API server would.
//
// It follows what the API server does when a custom resource is created (see
// apiextensions-apiserver pkg/apiserver/customresource_handler.go and
// pkg/registry/customresource): unknown fields are pruned (and reported, as strict field
// validation would), defaults applied, status dropped, then the object validated.
package validation

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/api/operation"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/storage/names"
	utilfeature "k8s.io/apiserver/pkg/util/feature"

	"inlet.dev/inlet/config/crd"
)

// unknownFieldOrigin marks the errors that report pruned unknown fields.
const unknownFieldOrigin = "unknownField"

// Validator validates objects of inlet's kinds. It is built once by New and is safe for
// concurrent use.
type Validator struct {
	// groups are the API groups the CRDs define; a kind of these groups that no CRD
	// defines is an error rather than someone else's object.
	groups map[string]bool
	kinds  map[schema.GroupKind]*kindInfo
}

// kindInfo is one CRD.
type kindInfo struct {
	namespaced bool
	versions   map[string]*versionInfo
	// apiVersions are the served group/versions, sorted, for error messages.
	apiVersions []string
}

// versionInfo is what the API server builds for one served version of a CRD.
type versionInfo struct {
	// structural is the structural schema with defaults pruned, as the API server
	// keeps it for pruning, defaulting and CEL.
	structural      *structuralschema.Structural
	schemaValidator apiservervalidation.SchemaValidator
	// cel is nil when the schema has no x-kubernetes-validations.
	cel *cel.Validator
	// hasStatus is true when the status subresource is enabled; creating an object
	// then ignores its status.
	hasStatus bool
}

// New builds the validators for every served version of every CRD in
// inlet.dev/inlet/config/crd. It fails when a CRD is one the API server would not
// accept or serve the same way (a schema that is not structural, defaults that do not
// prune, a scale subresource, which Validate does not check).
func New() (*Validator, error) {
	crds, err := crd.CustomResourceDefinitions()
	if err != nil {
		return nil, err
	}
	v := &Validator{groups: map[string]bool{}, kinds: map[schema.GroupKind]*kindInfo{}}
	for _, c := range crds {
		if c.Spec.PreserveUnknownFields {
			return nil, fmt.Errorf("CRD %s: spec.preserveUnknownFields is not supported", c.Name)
		}
		gk := schema.GroupKind{Group: c.Spec.Group, Kind: c.Spec.Names.Kind}
		k := &kindInfo{
			namespaced: c.Spec.Scope == apiextensionsv1.NamespaceScoped,
			versions:   map[string]*versionInfo{},
		}
		for i := range c.Spec.Versions {
			cv := &c.Spec.Versions[i]
			if !cv.Served {
				continue
			}
			vi, err := newVersion(cv)
			if err != nil {
				return nil, fmt.Errorf("CRD %s version %s: %w", c.Name, cv.Name, err)
			}
			k.versions[cv.Name] = vi
			k.apiVersions = append(k.apiVersions, schema.GroupVersion{Group: gk.Group, Version: cv.Name}.String())
		}
		slices.Sort(k.apiVersions)
		v.groups[gk.Group] = true
		v.kinds[gk] = k
	}
	return v, nil
}

// newVersion builds the structural schema, the OpenAPI schema validator and the CEL
// validator of one CRD version the way the API server's CRD handler does.
func newVersion(cv *apiextensionsv1.CustomResourceDefinitionVersion) (*versionInfo, error) {
	if cv.Schema == nil || cv.Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("no schema")
	}
	if cv.Subresources != nil && cv.Subresources.Scale != nil {
		return nil, fmt.Errorf("the scale subresource is not supported")
	}
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(cv.Schema.OpenAPIV3Schema, internal, nil); err != nil {
		return nil, fmt.Errorf("convert schema to the internal version: %w", err)
	}
	s, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, fmt.Errorf("schema is not structural: %w", err)
	}
	if errs := structuralschema.ValidateStructural(nil, s); len(errs) > 0 {
		return nil, fmt.Errorf("schema is not structural: %w", errs.ToAggregate())
	}
	// NewStructural shares defaults with internal, and PruneDefaults changes them.
	s = s.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(s); err != nil {
		return nil, fmt.Errorf("prune defaults: %w", err)
	}
	schemaValidator, _, err := apiservervalidation.NewSchemaValidator(internal)
	if err != nil {
		return nil, fmt.Errorf("schema validator: %w", err)
	}
	return &versionInfo{
		structural:      s,
		schemaValidator: schemaValidator,
		cel:             cel.NewValidator(s, true, celconfig.PerCallLimit),
		hasStatus:       cv.Subresources != nil && cv.Subresources.Status != nil,
	}, nil
}

// Validate checks obj as the API server would when it is created, and changes obj as
// the API server would before storing it: its content is re-read as JSON (as the API
// server receives it), unknown fields are pruned, the schema's defaults are applied, and
// status is removed when the kind has a status subresource.
//
// It returns nil for an object whose API group is not one of the CRDs' (a Secret, say).
// An object of a CRD's group whose kind or version the CRDs do not serve gets an error
// on kind or apiVersion. Otherwise the errors are, in order: one for each unknown field,
// which the API server drops with a warning (or refuses with strict field validation),
// tested with IsUnknownField; then what the API server's validation reports. A missing
// metadata.namespace is not an error (kubectl and GitOps tools fill it in); a
// generateName without a name is checked as a generated name.
func (v *Validator) Validate(obj *unstructured.Unstructured) field.ErrorList {
	if obj == nil {
		return nil
	}
	gvk := obj.GroupVersionKind()
	k, ok := v.kinds[gvk.GroupKind()]
	if !ok {
		if !v.groups[gvk.Group] {
			return nil
		}
		return field.ErrorList{field.NotSupported(field.NewPath("kind"), gvk.Kind, v.kindNames(gvk.Group))}
	}
	ver, ok := k.versions[gvk.Version]
	if !ok {
		return field.ErrorList{field.NotSupported(field.NewPath("apiVersion"), obj.GetAPIVersion(), k.apiVersions)}
	}

	// The API server sees JSON: the same value types, whoever built obj.
	data, err := utiljson.Marshal(obj.Object)
	if err != nil {
		return field.ErrorList{field.Invalid(nil, nil, fmt.Sprintf("cannot be encoded as JSON: %v", err))}
	}
	content := map[string]any{}
	if err := utiljson.Unmarshal(data, &content); err != nil {
		return field.ErrorList{field.Invalid(nil, nil, fmt.Sprintf("cannot be read as JSON: %v", err))}
	}
	obj.Object = content

	// Decoding: prune unknown fields and coerce metadata, then default.
	unknown, errs := coerce(obj, ver.structural)
	if len(errs) > 0 {
		return errs
	}
	structuraldefaulting.Default(obj.Object, ver.structural)
	// PrepareForCreate.
	if ver.hasStatus {
		delete(obj.Object, "status")
	}

	for _, path := range unknown {
		errs = append(errs, UnknownField(path))
	}
	return append(errs, k.validate(obj, ver)...)
}

// kindNames lists the kinds the CRDs define in group, for error messages.
func (v *Validator) kindNames(group string) []string {
	var kinds []string
	for gk := range v.kinds {
		if gk.Group == group {
			kinds = append(kinds, gk.Kind)
		}
	}
	slices.Sort(kinds)
	return kinds
}

// coerce does what the API server's decoder does to a custom resource
// (unstructuredSchemaCoercer, with unknown field paths returned as for strict field
// validation): reads metadata as an ObjectMeta, prunes fields the schema does not
// know, drops nulls the schema does not allow, coerces embedded objects' metadata and
// writes metadata back. It returns the paths of the unknown fields.
func coerce(obj *unstructured.Unstructured, s *structuralschema.Structural) ([]string, field.ErrorList) {
	apiVersion, kind := obj.GetAPIVersion(), obj.GetKind()
	objectMeta, foundMeta, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(obj.Object, schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return nil, field.ErrorList{field.Invalid(field.NewPath("metadata"), obj.Object["metadata"], err.Error())}
	}
	unknown = append(unknown, structuralpruning.PruneWithOptions(obj.Object, s, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj.Object, s)
	fieldErr, paths := schemaobjectmeta.CoerceWithOptions(nil, obj.Object, s, false, schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	if fieldErr != nil {
		return nil, field.ErrorList{fieldErr}
	}
	unknown = append(unknown, paths...)

	obj.SetAPIVersion(apiVersion)
	obj.SetKind(kind)
	if foundMeta {
		if err := schemaobjectmeta.SetObjectMeta(obj.Object, objectMeta); err != nil {
			return nil, field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
		}
	}
	return unknown, nil
}

// validate is the API server's customResourceStrategy.Validate for a create, on an
// object already decoded, defaulted and prepared.
func (k *kindInfo) validate(obj *unstructured.Unstructured, ver *versionInfo) field.ErrorList {
	ctx := context.Background()
	var errs field.ErrorList
	errs = append(errs, k.validateMetadata(ctx, obj)...)
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj.Object, ver.schemaValidator)...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, obj.Object, ver.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, ver.structural, obj.Object)...)
	if ver.cel != nil {
		if blocking := blockingError(errs); blocking != nil {
			errs = append(errs, blocking)
		} else {
			celErrs, _ := ver.cel.Validate(ctx, nil, ver.structural, obj.Object, nil, celconfig.RuntimeCELCostBudget)
			errs = append(errs, celErrs...)
		}
	}
	return errs
}

// validateMetadata checks metadata as the API server does for a custom resource: the
// name is a DNS subdomain, the namespace a DNS label, labels, annotations, finalizers and
// owner references well-formed.
func (k *kindInfo) validateMetadata(ctx context.Context, obj *unstructured.Unstructured) field.ErrorList {
	meta, _, err := schemaobjectmeta.GetObjectMeta(obj.Object, false)
	if err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("metadata"), obj.Object["metadata"], err.Error())}
	}
	if meta == nil {
		meta = &metav1.ObjectMeta{}
	}
	if meta.Name == "" && meta.GenerateName != "" {
		// The API server generates the name before validating it.
		meta.Name = names.SimpleNameGenerator.GenerateName(meta.GenerateName)
	}
	errs := apimachineryvalidation.ValidateObjectMetaDeclaratively(ctx, operation.Create, meta, nil, k.namespaced,
		apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"),
		utilfeature.DefaultFeatureGate.Enabled(features.DeclarativeValidationBeta))
	if k.namespaced && meta.Namespace == "" {
		// The namespace comes from the request (kubectl's context, the GitOps tool).
		errs = slices.DeleteFunc(errs, func(err *field.Error) bool {
			return err.Type == field.ErrorTypeRequired && err.Field == "metadata.namespace"
		})
	}
	return errs
}

// blockingError is the API server's hasBlockingErr: after errors of these types, which
// mean a value is missing or of the wrong type or size, CEL rules are not run and one
// error says so.
func blockingError(errs field.ErrorList) *field.Error {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")
		}
	}
	return nil
}

// UnknownField is the error Validate reports for a field the schema does not know,
// given its path such as spec.foo or spec.actions[0].bar. The API server prunes such a
// field, warning `unknown field "spec.foo"`, or, with strict field validation (kubectl
// --validate=strict), refuses the object with that message. The error reads
// `spec.foo: Forbidden: unknown field "spec.foo"`.
func UnknownField(path string) *field.Error {
	return field.Forbidden(field.NewPath(path), fmt.Sprintf("unknown field %q", path)).WithOrigin(unknownFieldOrigin)
}

// IsUnknownField reports whether err reports an unknown field, one the API server
// accepts with a warning unless field validation is strict.
func IsUnknownField(err *field.Error) bool {
	return err != nil && err.Origin == unknownFieldOrigin
}
