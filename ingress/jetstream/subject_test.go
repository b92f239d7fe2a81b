package jetstream

import (
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

func TestSubjects(t *testing.T) {
	tests := map[string]struct {
		got, want string
	}{
		"action": {
			got:  ActionSubject("production", "triggerWorkflow"),
			want: "inlet.actions.production.triggerWorkflow",
		},
		"action with dotted environment": {
			got:  ActionSubject("eu.prod", "identifyUser"),
			want: "inlet.actions.eu_prod.identifyUser",
		},
		"action with wildcards": {
			got:  ActionSubject("*", ">"),
			want: "inlet.actions.%2A.%3E",
		},
		"action filter": {
			got:  ActionFilter("production"),
			want: "inlet.actions.production.*",
		},
		"event log": {
			got:  EventLogSubject("shop", "stripe-production", "evt_1N2x"),
			want: "inlet.logs.events.shop.stripe-production.evt_1N2x",
		},
		"event log with dotted names and id": {
			got:  EventLogSubject("shop", "stripe.production", "2024.01.01"),
			want: "inlet.logs.events.shop.stripe_production.2024%2E01%2E01",
		},
		"event log with whitespace and percent in the id": {
			got:  EventLogSubject("shop", "s", "a b\t%\n"),
			want: "inlet.logs.events.shop.s.a%20b%09%25%0A",
		},
		"event log with non-ASCII id": {
			got:  EventLogSubject("shop", "s", "é"),
			want: "inlet.logs.events.shop.s.%C3%A9",
		},
		"event log with empty tokens": {
			got:  EventLogSubject("", "", ""),
			want: "inlet.logs.events.%.%.%",
		},
		"action log": {
			got:  ActionLogSubject("shop", "clerk-dev", "msg_2abc"),
			want: "inlet.logs.actions.shop.clerk-dev.msg_2abc",
		},
		"event log filter": {
			got:  EventLogFilter("shop", "stripe.production"),
			want: "inlet.logs.events.shop.stripe_production.*",
		},
		"action log filter": {
			got:  ActionLogFilter("shop", "stripe-production"),
			want: "inlet.logs.actions.shop.stripe-production.*",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

// hostile are inputs that would break a subject if used unescaped.
var hostile = []string{
	"", ".", "..", "*", ">", "a.b", "a_b", "a b", "a\tb", "a\nb", "a\rb",
	"%", "%2E", "a.*.>", " ", "evt_1", "é", "\x00", "x>", ">x", "a..b",
}

func TestSubjectsAreValidAndMatchFilters(t *testing.T) {
	for _, in := range hostile {
		checks := []struct{ subject, filter string }{
			{ActionSubject(in, in), ActionFilter(in)},
			{ActionSubject(in, in), ActionStreamSubject},
			{EventLogSubject(in, in, in), EventLogFilter(in, in)},
			{EventLogSubject(in, in, in), LogStreamSubject},
			{ActionLogSubject(in, in, in), ActionLogFilter(in, in)},
			{ActionLogSubject(in, in, in), LogStreamSubject},
		}
		for _, c := range checks {
			if !server.IsValidPublishSubject(c.subject) {
				t.Errorf("input %q: %q is not a valid literal subject", in, c.subject)
			}
			if !server.IsValidSubject(c.filter) {
				t.Errorf("input %q: %q is not a valid filter", in, c.filter)
			}
			if !server.SubjectMatchesFilter(c.subject, c.filter) {
				t.Errorf("input %q: %q does not match %q", in, c.subject, c.filter)
			}
		}
		if got := strings.Count(EventLogSubject(in, in, in), "."); got != 5 {
			t.Errorf("input %q: event log subject %q has %d dots, want 5", in, EventLogSubject(in, in, in), got)
		}
		if got := strings.Count(ActionSubject(in, in), "."); got != 3 {
			t.Errorf("input %q: action subject %q has %d dots, want 3", in, ActionSubject(in, in), got)
		}
	}
}

func TestFiltersSeparateSourceEnvironments(t *testing.T) {
	a := EventLogSubject("shop", "stripe-production", "evt_1")
	if server.SubjectMatchesFilter(a, EventLogFilter("shop", "stripe-development")) {
		t.Errorf("%q matches another source environment's filter", a)
	}
	if server.SubjectMatchesFilter(a, EventLogFilter("other", "stripe-production")) {
		t.Errorf("%q matches another namespace's filter", a)
	}
	if server.SubjectMatchesFilter(a, ActionLogFilter("shop", "stripe-production")) {
		t.Errorf("event log %q matches the action log filter", a)
	}
}

func TestIDTokenIsInjective(t *testing.T) {
	inputs := append([]string{"evt_1", "evt.1", "evt%2E1", "evt%1", "evt_1 ", "EVT_1"}, hostile...)
	seen := map[string]string{}
	for _, in := range inputs {
		tok := idToken(in)
		if prev, ok := seen[tok]; ok && prev != in {
			t.Errorf("idToken(%q) = idToken(%q) = %q", in, prev, tok)
		}
		seen[tok] = in
	}
}

func TestNameTokenIsInjectiveForKubernetesNames(t *testing.T) {
	// Kubernetes names are lower-case alphanumerics, '-' and '.'.
	inputs := []string{"a", "a.b", "a-b", "ab", "a.b.c", "a-b.c", "a.b-c", "stripe.production", "stripe-production"}
	seen := map[string]string{}
	for _, in := range inputs {
		tok := nameToken(in)
		if prev, ok := seen[tok]; ok {
			t.Errorf("nameToken(%q) = nameToken(%q) = %q", in, prev, tok)
		}
		seen[tok] = in
	}
}

func FuzzIDToken(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ta, tb := idToken(a), idToken(b)
		if !server.IsValidPublishSubject("x." + ta + ".y") {
			t.Fatalf("idToken(%q) = %q is not a valid token", a, ta)
		}
		if strings.ContainsAny(ta, ".*> \t\r\n") {
			t.Fatalf("idToken(%q) = %q contains a separator or wildcard", a, ta)
		}
		if a != b && ta == tb {
			t.Fatalf("idToken(%q) = idToken(%q) = %q", a, b, ta)
		}
	})
}

// A partition is FNV-1a (64 bits) of the de-duplication id modulo the partitions, as the
// docs tell consumers; ids spread evenly; one partition means none.
func TestPartition(t *testing.T) {
	for _, tc := range []struct {
		id         string
		partitions int
		want       int
	}{
		{"evt_1", 8, 2}, {"abc", 3, 0}, {"", 5, 2}, {"evt_1", 1, 0}, {"evt_1", 0, 0},
	} {
		if got := Partition(tc.id, tc.partitions); got != tc.want {
			t.Errorf("Partition(%q, %d) = %d, want %d", tc.id, tc.partitions, got, tc.want)
		}
	}
	counts := make([]int, 8)
	for i := range 8000 {
		counts[Partition(MsgID("key", strings.Repeat("x", i%7), string(rune('a'+i%26)), string(rune(i))), 8)]++
	}
	for p, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("partition %d got %d of 8000 ids, want about 1000: %v", p, n, counts)
		}
	}
	for _, tc := range []struct{ got, want string }{
		{PartitionSubject("inlet.actions.production.identifyUser", 2, 4), "inlet.actions.production.identifyUser.2"},
		{PartitionSubject("inlet.actions.production.identifyUser", 0, 1), "inlet.actions.production.identifyUser"},
		{PartitionStream("INLET_ACTIONS", 3, 4), "INLET_ACTIONS_P3"},
		{PartitionStream("INLET_ACTIONS", 0, 1), "INLET_ACTIONS"},
		{PartitionStreamSubject(3), "inlet.actions.*.*.3"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}
