package config_test

import (
	"testing"
	"time"

	"inlet.dev/inlet/ingress/config"
)

// A stream shared by several SourceEnvironments gets the longest window, the most
// partitions and the longest retention any of them asks.
func TestStreamNeedsTakeTheLongest(t *testing.T) {
	var n config.StreamNeeds
	n.Add("A", 1, time.Hour, "LOGS", 24*time.Hour)
	n.Add("A", 4, 24*time.Hour, "LOGS", time.Hour)
	n.Add("B", 0, time.Minute, "LOGS", 48*time.Hour)
	n.Add("A", 2, 2*time.Hour, "OTHER", time.Hour)
	want := config.StreamNeeds{
		ActionStreams: map[string]time.Duration{"A": 24 * time.Hour, "B": time.Minute},
		LogStreams:    map[string]time.Duration{"LOGS": 48 * time.Hour, "OTHER": time.Hour},
	}
	for name, w := range want.ActionStreams {
		if got := n.ActionStreams[name]; got != w {
			t.Errorf("action stream %s: window %s, want %s", name, got, w)
		}
	}
	for name, w := range want.LogStreams {
		if got := n.LogStreams[name]; got != w {
			t.Errorf("log stream %s: retention %s, want %s", name, got, w)
		}
	}
	if n.ActionPartitions["A"] != 4 || n.ActionPartitions["B"] != 1 {
		t.Errorf("partitions %v, want A 4 and B 1", n.ActionPartitions)
	}
	if len(n.ActionStreams) != 2 || len(n.LogStreams) != 2 {
		t.Errorf("needs %+v, want two of each", n)
	}
}
