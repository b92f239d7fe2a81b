package provider

import "inlet.dev/inlet/api/v1alpha1"

// PayloadSecrets returns the top-level fields of a Source's events that carry a
// credential of the sender, whose values the event log never keeps: Slack's
// verification token (`token`), which Slack still sends in every callback, slash
// command and interaction payload although requests are verified with the signing
// secret. The mappings still see them.
func PayloadSecrets(spec *v1alpha1.SourceSpec) []string {
	switch spec.Type {
	case v1alpha1.SourceTypeSlack:
		return []string{"token"}
	}
	return nil
}
