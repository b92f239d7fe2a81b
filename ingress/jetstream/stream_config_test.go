package jetstream

import (
	"reflect"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestActionStreamConfig(t *testing.T) {
	base := func(window, maxAge time.Duration, replicas int, storage jetstream.StorageType) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:               "ACTIONS",
			Description:        "inlet actions",
			Subjects:           []string{"inlet.actions.*.*"},
			Retention:          jetstream.LimitsPolicy,
			Discard:            jetstream.DiscardOld,
			MaxAge:             maxAge,
			Duplicates:         window,
			MaxMsgs:            -1,
			MaxBytes:           -1,
			MaxMsgsPerSubject:  -1,
			MaxMsgSize:         -1,
			Replicas:           replicas,
			Storage:            storage,
			AllowDirect:        true,
			AllowAtomicPublish: true,
		}
	}
	tests := map[string]struct {
		window   time.Duration
		replicas int
		storage  jetstream.StorageType
		want     jetstream.StreamConfig
	}{
		"24h window keeps a week": {
			window: 24 * time.Hour, replicas: 3, storage: jetstream.FileStorage,
			want: base(24*time.Hour, MinActionRetention, 3, jetstream.FileStorage),
		},
		"window longer than a week sets max age": {
			window: 30 * 24 * time.Hour, replicas: 1, storage: jetstream.FileStorage,
			want: base(30*24*time.Hour, 30*24*time.Hour, 1, jetstream.FileStorage),
		},
		"no window means the default": {
			window: 0, replicas: 1, storage: jetstream.MemoryStorage,
			want: base(DefaultDuplicateWindow, MinActionRetention, 1, jetstream.MemoryStorage),
		},
		"negative window means the default": {
			window: -time.Second, replicas: 1, storage: jetstream.FileStorage,
			want: base(DefaultDuplicateWindow, MinActionRetention, 1, jetstream.FileStorage),
		},
		"no replicas means one": {
			window: time.Hour, replicas: 0, storage: jetstream.FileStorage,
			want: base(time.Hour, MinActionRetention, 1, jetstream.FileStorage),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := ActionStreamConfig("ACTIONS", tc.window, tc.replicas, tc.storage)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ActionStreamConfig:\n got %+v\nwant %+v", got, tc.want)
			}
			if got.MaxAge < got.Duplicates {
				t.Errorf("MaxAge %s shorter than the duplicate window %s", got.MaxAge, got.Duplicates)
			}
		})
	}
}

func TestLogStreamConfig(t *testing.T) {
	base := func(retention, window time.Duration, replicas int, storage jetstream.StorageType) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:              "LOGS",
			Description:       "inlet event and action logs",
			Subjects:          []string{"inlet.logs.>"},
			Retention:         jetstream.LimitsPolicy,
			Discard:           jetstream.DiscardOld,
			MaxAge:            retention,
			Duplicates:        window,
			MaxMsgs:           -1,
			MaxBytes:          DefaultLogMaxBytes,
			MaxMsgsPerSubject: -1,
			MaxMsgSize:        -1,
			Replicas:          replicas,
			Storage:           storage,
			AllowDirect:       true,
		}
	}
	tests := map[string]struct {
		retention time.Duration
		replicas  int
		storage   jetstream.StorageType
		want      jetstream.StreamConfig
	}{
		"a week": {
			retention: 7 * 24 * time.Hour, replicas: 3, storage: jetstream.FileStorage,
			want: base(7*24*time.Hour, LogDuplicateWindow, 3, jetstream.FileStorage),
		},
		"no retention means the default": {
			retention: 0, replicas: 1, storage: jetstream.FileStorage,
			want: base(DefaultLogRetention, LogDuplicateWindow, 1, jetstream.FileStorage),
		},
		"retention shorter than the window shortens the window": {
			retention: 30 * time.Second, replicas: -1, storage: jetstream.MemoryStorage,
			want: base(30*time.Second, 30*time.Second, 1, jetstream.MemoryStorage),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := LogStreamConfig("LOGS", tc.retention, tc.replicas, tc.storage)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("LogStreamConfig:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDiffOwned(t *testing.T) {
	tests := map[string]struct {
		have func(c *jetstream.StreamConfig)
		want func(c *jetstream.StreamConfig) // changes to the wanted configuration; none when nil
		diff []string
	}{
		"equal":                               {have: func(*jetstream.StreamConfig) {}},
		"subjects in another order are equal": {have: func(c *jetstream.StreamConfig) { c.Subjects = []string{"inlet.actions.*.*"} }},
		"fields we do not own are ignored": {have: func(c *jetstream.StreamConfig) {
			c.Metadata = map[string]string{"owner": "someone"}
			c.MaxConsumers = 10
			c.DenyDelete = true
		}},
		"replicas 0 reads as 1":  {have: func(c *jetstream.StreamConfig) { c.Replicas = 0 }},
		"window":                 {have: func(c *jetstream.StreamConfig) { c.Duplicates = 2 * time.Minute }, diff: []string{"duplicates"}},
		"subjects":               {have: func(c *jetstream.StreamConfig) { c.Subjects = []string{"other.>"} }, diff: []string{"subjects"}},
		"extra subject":          {have: func(c *jetstream.StreamConfig) { c.Subjects = append(c.Subjects, "x") }, diff: []string{"subjects"}},
		"storage":                {have: func(c *jetstream.StreamConfig) { c.Storage = jetstream.MemoryStorage }, diff: []string{"storage"}},
		"more replicas are kept": {have: func(c *jetstream.StreamConfig) { c.Replicas = 3 }},
		"fewer replicas":         {have: func(c *jetstream.StreamConfig) { c.Replicas = 0 }, want: func(c *jetstream.StreamConfig) { c.Replicas = 3 }, diff: []string{"replicas"}},
		"placement unset keeps":  {have: func(c *jetstream.StreamConfig) { c.Placement = &jetstream.Placement{Tags: []string{"ssd"}} }},
		"placement tags in another order": {
			have: func(c *jetstream.StreamConfig) {
				c.Placement = &jetstream.Placement{Cluster: "c", Tags: []string{"b", "a"}}
			},
			want: func(c *jetstream.StreamConfig) {
				c.Placement = &jetstream.Placement{Cluster: "c", Tags: []string{"a", "b"}}
			},
		},
		"placement": {
			have: func(c *jetstream.StreamConfig) { c.Placement = &jetstream.Placement{Cluster: "east"} },
			want: func(c *jetstream.StreamConfig) { c.Placement = &jetstream.Placement{Cluster: "west"} },
			diff: []string{"placement"},
		},
		"limits": {have: func(c *jetstream.StreamConfig) {
			c.MaxMsgs = 10
			c.MaxBytes = 10
			c.MaxMsgsPerSubject = 1
			c.MaxMsgSize = 5
		}, diff: []string{"maxMsgs", "maxBytes", "maxMsgsPerSubject", "maxMsgSize"}},
		"policies and age": {have: func(c *jetstream.StreamConfig) {
			c.Retention = jetstream.WorkQueuePolicy
			c.Discard = jetstream.DiscardNew
			c.MaxAge = 0
		}, diff: []string{"retention", "discard", "maxAge"}},
		"description and direct": {have: func(c *jetstream.StreamConfig) { c.Description = "x"; c.AllowDirect = false }, diff: []string{"description", "allowDirect"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			want := ActionStreamConfig("A", time.Hour, 1, jetstream.FileStorage)
			if tc.want != nil {
				tc.want(&want)
			}
			have := ActionStreamConfig("A", time.Hour, 1, jetstream.FileStorage)
			tc.have(&have)
			if got := diffOwned(want, have); !slices.Equal(got, tc.diff) {
				t.Errorf("diffOwned = %v, want %v", got, tc.diff)
			}
			merged := mergeOwned(have, want)
			if got := diffOwned(want, merged); got != nil {
				t.Errorf("after mergeOwned, diffOwned = %v, want none", got)
			}
			if !reflect.DeepEqual(merged.Metadata, have.Metadata) || merged.MaxConsumers != have.MaxConsumers || merged.DenyDelete != have.DenyDelete {
				t.Errorf("mergeOwned lost fields we do not own: %+v", merged)
			}
			if merged.Replicas < have.Replicas {
				t.Errorf("mergeOwned lowered replicas from %d to %d", have.Replicas, merged.Replicas)
			}
			if want.Placement == nil && !reflect.DeepEqual(merged.Placement, have.Placement) {
				t.Errorf("mergeOwned changed placement %+v to %+v although none was asked", have.Placement, merged.Placement)
			}
		})
	}
}

func TestMsgID(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	tests := map[string]struct {
		a, b  []string
		equal bool
	}{
		"same parts":              {a: []string{"key", "type", "env"}, b: []string{"key", "type", "env"}, equal: true},
		"boundaries move":         {a: []string{"a", "bc"}, b: []string{"ab", "c"}},
		"separator in a part":     {a: []string{"a|b", "c"}, b: []string{"a", "b|c"}},
		"empty part vs none":      {a: []string{""}, b: nil},
		"empty parts differ":      {a: []string{"", ""}, b: []string{""}},
		"order matters":           {a: []string{"a", "b"}, b: []string{"b", "a"}},
		"position distinguishes":  {a: []string{"k", "t", "se", "e", "m", "0"}, b: []string{"k", "t", "se", "e", "m", "1"}},
		"long parts are hashed":   {a: []string{string(make([]byte, 300))}, b: []string{string(make([]byte, 301))}},
		"length byte ambiguities": {a: []string{"\x01a"}, b: []string{"", "a"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, b := MsgID(tc.a...), MsgID(tc.b...)
			for _, id := range []string{a, b} {
				if !valid.MatchString(id) {
					t.Errorf("MsgID = %q, want 43 base64url characters", id)
				}
			}
			if MsgID(tc.a...) != a {
				t.Errorf("MsgID(%q) is not deterministic", tc.a)
			}
			if (a == b) != tc.equal {
				t.Errorf("MsgID(%q) = %q, MsgID(%q) = %q, want equal=%v", tc.a, a, tc.b, b, tc.equal)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	f := backoff(100*time.Millisecond, 2*time.Second)
	tests := map[string]struct {
		attempts int
		base     time.Duration
	}{
		"first":  {attempts: 1, base: 100 * time.Millisecond},
		"second": {attempts: 2, base: 200 * time.Millisecond},
		"fifth":  {attempts: 5, base: 1600 * time.Millisecond},
		"capped": {attempts: 50, base: 2 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for range 50 {
				d := f(tc.attempts)
				if d < tc.base*8/10 || d > tc.base*12/10 {
					t.Fatalf("backoff(%d) = %s, want %s ± 20%%", tc.attempts, d, tc.base)
				}
			}
		})
	}
}

func TestRedactURLs(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"no user":     {in: "nats://127.0.0.1:4222", want: "nats://127.0.0.1:4222"},
		"password":    {in: "nats://bob:s3cret@host:4222", want: "nats://redacted@host:4222"},
		"token":       {in: "nats://t0ken@host:4222", want: "nats://redacted@host:4222"},
		"list":        {in: "nats://a:b@h1:4222, nats://h2:4222", want: "nats://redacted@h1:4222,nats://h2:4222"},
		"unparseable": {in: "nats://a:b@h1:42%2", want: "<unparsable url>"},
		"token list":  {in: "tls://token@a:4222, tls://u:p@b:4222", want: "tls://redacted@a:4222,tls://redacted@b:4222"},
		"bad escape":  {in: "nats://u:p%zz@nats:4222", want: "<unparsable url>"},
		"empty":       {in: "", want: ""},
		"list, path":  {in: "nats://a:4222,nats://b:4222,nats://c:4222/x?y", want: "nats://a:4222,nats://b:4222,nats://c:4222/x?y"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := RedactURLs(tc.in); got != tc.want {
				t.Errorf("RedactURLs(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
