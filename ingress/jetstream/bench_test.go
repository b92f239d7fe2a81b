package jetstream_test

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

// benchPublishers is the number of concurrent publishers in BenchmarkPublish,
// standing for as many webhook requests in flight.
const benchPublishers = 64

// BenchmarkPublish is the publish-only baseline of the ingress: 64 concurrent
// publishers, each operation one PublishAll of one ~200-byte action with a
// unique MsgID, to a file-storage stream with a 24h duplicate window, over an
// in-process pipe and over loopback TCP. It reports throughput (events/s)
// and the latency of one PublishAll (p50/p99, ms).
func BenchmarkPublish(b *testing.B) {
	for _, mode := range []string{"inprocess", "tcp"} {
		b.Run(mode, func(b *testing.B) {
			s, url := natstest.Start(b)
			var c *inletjs.Client
			if mode == "inprocess" {
				c = connect(b, "", inletjs.WithInProcessServer(s))
			} else {
				c = connect(b, url)
			}
			ensure(b, c, inletjs.ActionStreamConfig("BENCH", 24*time.Hour, 1, jetstream.FileStorage))
			payload := []byte(`{"workflow":"win-back","recipients":["cus_NffrFeUfNV2Hib"],"data":{"plan":"price_1MoBy5LkdIwHu7ixZhnattbh"},"tenant":"acme","actor":null,"cancellation_key":null}`)
			subject := inletjs.ActionSubject("production", "triggerWorkflow")

			var (
				next    atomic.Uint64
				mu      sync.Mutex
				latency []time.Duration
			)
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((benchPublishers + procs - 1) / procs)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				local := make([]time.Duration, 0, 4096)
				msgs := []inletjs.Message{{Subject: subject, Data: payload}}
				for pb.Next() {
					msgs[0].MsgID = inletjs.MsgID("bench", strconv.FormatUint(next.Add(1), 10))
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					t0 := time.Now()
					_, err := c.PublishAll(ctx, msgs)
					local = append(local, time.Since(t0))
					cancel()
					if err != nil {
						b.Error(err)
						return
					}
				}
				mu.Lock()
				latency = append(latency, local...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()

			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(ms(percentile(latency, 0.50)), "p50-ms")
			b.ReportMetric(ms(percentile(latency, 0.99)), "p99-ms")
		})
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var dupKeys = flag.Int("inlet.dupkeys", 200_000, "unique message ids published by BenchmarkDuplicateWindowMemory")

// BenchmarkDuplicateWindowMemory measures what the duplicate window costs the
// NATS server in memory per remembered message id, to size JetStream for an
// idempotency window.
//
// The server runs in this process, so its heap is ours to measure. The stream
// is in memory storage with a 24h window but keeps at most 1000 tiny
// messages, discarding the oldest: after a warm-up that fills it, message
// storage no longer grows, while the server keeps every id of the window in
// its duplicate map (ids are not forgotten when their message is discarded,
// only when the window passes). So the heap growth (live heap after GC,
// runtime.MemStats.HeapAlloc) from after the warm-up to after publishing
// -inlet.dupkeys more unique ids (default 200k; 43-character ids from
// MsgID, as the ingress sends) is the duplicate map: the map entry, the
// entry struct, the id string and the slice that orders entries by age.
// Client-side garbage is collected before each reading; the client's
// pending-ack map has reached its size during the warm-up.
//
// Reported: B/key and MB/Mkeys (MiB per million ids). A file-storage stream
// pays the same per id in memory, plus its messages on disk. Run it with
// -benchtime=1x; b.N repeats the whole measurement on fresh servers.
func BenchmarkDuplicateWindowMemory(b *testing.B) {
	const (
		keep  = 1000
		batch = 1000
	)
	var perKey float64
	for range b.N {
		b.StopTimer()
		s, err := inletjs.RunEmbedded(inletjs.EmbeddedOptions{StoreDir: b.TempDir(), NoLog: true, InProcessOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		c := connect(b, "", inletjs.WithInProcessServer(s))
		ensure(b, c, jetstream.StreamConfig{
			Name:       "DEDUPE",
			Subjects:   []string{"dedupe.>"},
			Storage:    jetstream.MemoryStorage,
			Retention:  jetstream.LimitsPolicy,
			Discard:    jetstream.DiscardOld,
			MaxMsgs:    keep,
			MaxAge:     25 * time.Hour,
			Duplicates: 24 * time.Hour,
		})

		msgs := make([]inletjs.Message, batch)
		publish := func(prefix string, n int) {
			for i := 0; i < n; i += batch {
				m := msgs[:min(batch, n-i)]
				for j := range m {
					m[j] = inletjs.Message{Subject: "dedupe.x", MsgID: inletjs.MsgID(prefix, strconv.Itoa(i+j)), Data: []byte{'x'}}
				}
				mustPublish(b, c, m)
			}
		}
		publish("warmup", 5*keep)
		before := liveHeap()

		b.StartTimer()
		publish("key", *dupKeys)
		b.StopTimer()

		after := liveHeap()
		perKey = float64(int64(after)-int64(before)) / float64(*dupKeys)

		// The stream still holds only keep messages, yet remembers the first
		// warm-up id.
		if got := streamMsgs(b, c, "DEDUPE"); got != keep {
			b.Errorf("stream holds %d messages, want %d", got, keep)
		}
		res := mustPublish(b, c, []inletjs.Message{{Subject: "dedupe.x", MsgID: inletjs.MsgID("warmup", "0"), Data: []byte{'x'}}})
		if !res[0].Duplicate {
			b.Error("the first id was forgotten within the window")
		}
		c.Close()
		natstest.Stop(s)
	}
	b.ReportMetric(perKey, "B/key")
	b.ReportMetric(perKey*1e6/(1<<20), "MB/Mkeys")
	b.ReportMetric(float64(*dupKeys), "keys")
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

var capEvents = flag.Int("inlet.capevents", 100_000, "events (two actions, one id each) published by BenchmarkWindowCapacity")

// BenchmarkWindowCapacity measures what an idempotency window costs a
// nats-server process per event id, as inlet uses it: an action stream from
// ActionStreamConfig (file storage, 24h duplicate window, messages kept at
// least as long), events of two ~350-byte actions: on R3 one atomic batch
// under one id, on R1 (file storage, no batches) each action under its own id. The servers are separate processes (the test binary
// started as nats-server), R1 on one server and R3 on three, so their
// resident set (VmRSS) and live heap are the server's alone. Reported per id,
// from after a warm-up of 10,000 events to after -inlet.capevents more
// (default 100,000): RSS-B/id and heap-B/id (the largest growth among the
// replicas: every replica keeps the window), and the events per second a
// window holds, in the log, for servers of 4, 16 and 64 GiB giving half
// their memory to it. Run it with -benchtime=1x.
func BenchmarkWindowCapacity(b *testing.B) {
	for _, tc := range []struct{ servers, replicas, partitions int }{
		{1, 1, 1}, {3, 3, 1}, {3, 1, 3}, {6, 3, 2},
	} {
		name := fmt.Sprintf("R%d", tc.replicas)
		if tc.partitions > 1 {
			name = fmt.Sprintf("R%dx%dpartitions_on_%d_servers", tc.replicas, tc.partitions, tc.servers)
		}
		b.Run(name, func(b *testing.B) {
			var rssPerID, heapPerID, idsPerEvent float64
			for range b.N {
				b.StopTimer()
				cl := natstest.StartProcessCluster(b, tc.servers)
				c := connect(b, cl.URL())
				cfgs := inletjs.ActionStreamConfigs(inletjs.DefaultActionStream, tc.partitions, 24*time.Hour, tc.replicas, jetstream.FileStorage)
				for _, cfg := range cfgs {
					ensureOn(b, c, cfg)
					if tc.servers > 1 {
						b.Logf("%s on %s", cfg.Name, streamServers(b, c, cfg.Name))
					}
				}
				capPublish(b, c, "warmup", 10_000, tc.partitions)
				before := capMemory(b, cl, tc.servers)
				b.StartTimer()
				capPublish(b, c, "event", *capEvents, tc.partitions)
				b.StopTimer()
				after := capMemory(b, cl, tc.servers)
				// One id per event in a batch; one per action (two) without.
				idsPerEvent = 1
				if s, err := c.JetStream().Stream(ctxT(b, 10*time.Second), cfgs[0].Name); err != nil {
					b.Fatal(err)
				} else if !s.CachedInfo().Config.AllowAtomicPublish {
					idsPerEvent = 2
				}
				// The cost of an id of the whole window on the server that holds
				// the most: partitions spread the ids over the servers.
				ids := float64(*capEvents) * idsPerEvent
				rssPerID, heapPerID = 0, 0
				for i := range tc.servers {
					b.Logf("server %s: RSS %+.1f MiB, live heap %+.1f MiB", cl.Name(i),
						float64(int64(after[i][0])-int64(before[i][0]))/(1<<20), float64(int64(after[i][1])-int64(before[i][1]))/(1<<20))
					rssPerID = max(rssPerID, float64(int64(after[i][0])-int64(before[i][0]))/ids)
					heapPerID = max(heapPerID, float64(int64(after[i][1])-int64(before[i][1]))/ids)
				}
				var stored uint64
				for _, cfg := range cfgs {
					stored += streamMsgs(b, c, cfg.Name)
				}
				if stored != uint64(2*(10_000+*capEvents)) {
					b.Errorf("streams hold %d messages, want %d", stored, 2*(10_000+*capEvents))
				}
				c.Close()
			}
			b.ReportMetric(rssPerID, "RSS-B/id")
			b.ReportMetric(heapPerID, "heap-B/id")
			b.ReportMetric(0, "ns/op")
			for _, gib := range []float64{4, 16, 64} {
				ids := gib * (1 << 30) / 2 / rssPerID
				b.Logf("%s, %2.0f GiB servers, half of it for the window: %6.0f events/s of two actions for a 1h window, %5.0f for 24h (%.1fM ids)",
					name, gib, ids/idsPerEvent/3600, ids/idsPerEvent/86400, ids/1e6)
			}
		})
	}
}

// streamServers names the servers that hold a stream's replicas, its leader first.
func streamServers(b *testing.B, c *inletjs.Client, stream string) string {
	s, err := c.JetStream().Stream(ctxT(b, 10*time.Second), stream)
	if err != nil {
		b.Fatal(err)
	}
	ci := s.CachedInfo().Cluster
	if ci == nil {
		return "?"
	}
	names := []string{ci.Leader}
	for _, r := range ci.Replicas {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}

// capPublish publishes n events of two actions each, with ids from prefix, to
// the partition of each id, 500 events per call.
func capPublish(b *testing.B, c *inletjs.Client, prefix string, n, partitions int) {
	data := []byte(`{"id":"` + strings.Repeat("x", 43) + `","action":"triggerWorkflow","params":{"workflow":"welcome","recipients":["cus_0000000000000"],"data":{"plan":"team"}},"environment":"production","source":{"namespace":"shop","name":"stripe","type":"stripe","sourceEnvironment":"stripe-production"},"mapping":"welcome","position":0,"event":{"id":"3vWPSwuifqiXnSXEzOSqLt","type":"customer.subscription.created","idempotencyKey":"evt_1QxSample0000000000"}}`)
	const per = 500
	events := make([]inletjs.Event, per)
	for i := 0; i < n; i += per {
		ev := events[:min(per, n-i)]
		for j := range ev {
			id := inletjs.MsgID(prefix, strconv.Itoa(i+j))
			p := inletjs.Partition(id, partitions)
			ev[j] = inletjs.Event{ID: id, Messages: []inletjs.Message{
				{Subject: inletjs.PartitionSubject(inletjs.ActionSubject("production", "identifyUser"), p, partitions), Data: data},
				{Subject: inletjs.PartitionSubject(inletjs.ActionSubject("production", "triggerWorkflow"), p, partitions), Data: data},
			}}
		}
		if _, err := c.PublishEvents(ctxT(b, time.Minute), ev); err != nil {
			b.Fatalf("publish: %v", err)
		}
	}
}

// capMemory returns each server's RSS and live heap, after the server has had
// a moment to settle.
func capMemory(b *testing.B, cl *natstest.ProcessCluster, n int) [][2]uint64 {
	time.Sleep(2 * time.Second)
	out := make([][2]uint64, n)
	for i := range n {
		rss, heap, err := cl.Memory(i)
		if err != nil {
			b.Fatalf("memory of server %d: %v", i, err)
		}
		out[i] = [2]uint64{rss, heap}
	}
	return out
}
