package events

import (
	"maps"
	"strings"
)

// IdentifyTraits reads an identify call: a Segment-spec identify (Segment,
// RudderStack, Jitsu, Freshpaint) or a PostHog $identify or $set event, for which
// its provider set Info.Identify.
//
// The user id is body.userId (a string, or a number written without exponent; for
// PostHog, body.distinct_id when there is no userId); without one, ok is false,
// because an anonymous visitor cannot be identified. The traits are body.traits, or
// for PostHog body.properties.$set ($set_once is not used). They become the user's
// properties:
//
//	name          traits.name, or traits.firstName and traits.lastName joined by a space
//	              (first_name and last_name also work) when there is no name
//	email         traits.email
//	avatar        traits.avatar
//	phone_number  traits.phone, when a string or null (it replaces a phone_number trait)
//
// Every other trait is kept as it is, firstName and lastName among them. props is a
// new map, never the payload's own, and is empty (not nil) when there are no traits.
func IdentifyTraits(payload map[string]any) (userID string, props map[string]any, ok bool) {
	userID, _ = ID(payload["userId"])
	if userID == "" {
		userID, _ = ID(payload["distinct_id"])
	}
	if userID == "" {
		return "", nil, false
	}
	traits, _ := payload["traits"].(map[string]any)
	if traits == nil {
		properties, _ := payload["properties"].(map[string]any)
		traits, _ = properties["$set"].(map[string]any)
	}
	props = make(map[string]any, len(traits)+1)
	maps.Copy(props, traits)
	if name, _ := traits["name"].(string); name == "" {
		if full := fullName(traits); full != "" {
			props["name"] = full
		}
	}
	if phone, present := traits["phone"]; present {
		switch phone.(type) {
		case string, nil:
			delete(props, "phone")
			props["phone_number"] = phone
		}
	}
	return userID, props, true
}

// fullName joins a first and a last name trait, in camel or snake case.
func fullName(traits map[string]any) string {
	first, _ := traits["firstName"].(string)
	if first == "" {
		first, _ = traits["first_name"].(string)
	}
	last, _ := traits["lastName"].(string)
	if last == "" {
		last, _ = traits["last_name"].(string)
	}
	return strings.TrimSpace(strings.TrimSpace(first) + " " + strings.TrimSpace(last))
}

// IdentifyPaths returns the paths of a payload IdentifyTraits reads.
func IdentifyPaths() *Paths {
	p := &Paths{}
	p.Add("userId")
	p.Add("distinct_id")
	p.Add("traits")
	p.Add("properties", "$set")
	return p
}
