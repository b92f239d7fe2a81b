package ratelimit

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	now := time.Unix(1000, 0)
	b := NewBucket(Limit{PerSecond: 2, Burst: 3}, now)
	for i := range 3 {
		if ok, _ := b.Allow(now); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	ok, wait := b.Allow(now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("past the burst: %v %v, want refused for 500ms", ok, wait)
	}
	if ok, _ := b.Allow(now.Add(500 * time.Millisecond)); !ok {
		t.Fatal("refused after the refill")
	}
	if ok, _ := b.Allow(now.Add(time.Hour)); !ok {
		t.Fatal("refused after an hour")
	}
}

func TestSetKeepsABucketPerKeyAndForgetsRemovedKeys(t *testing.T) {
	now := time.Unix(1000, 0)
	var s Set[string]
	l := Limit{PerSecond: 1, Burst: 1}
	if ok, _ := s.Allow("a", l, now); !ok {
		t.Fatal("a refused")
	}
	if ok, _ := s.Allow("a", l, now); ok {
		t.Fatal("a allowed twice")
	}
	if ok, _ := s.Allow("b", l, now); !ok {
		t.Fatal("b refused: buckets are shared")
	}
	if ok, _ := s.Allow("a", Limit{PerSecond: 1, Burst: 5}, now); !ok {
		t.Fatal("a changed limit does not start a new bucket")
	}
	if ok, _ := s.Allow("c", Limit{}, now); !ok || s.Len() != 2 {
		t.Fatalf("an unlimited key: allowed %v, %d buckets", ok, s.Len())
	}
	s.Retain(func(k string) bool { return k == "a" })
	if s.Len() != 1 {
		t.Fatalf("%d buckets after Retain, want 1", s.Len())
	}
}
