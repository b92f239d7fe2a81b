package jetstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream names and limits used when the configuration does not say otherwise.
const (
	// DefaultActionStream is the name of the stream that holds actions.
	DefaultActionStream = "INLET_ACTIONS"
	// DefaultLogStream is the name of the stream that holds event and action logs.
	DefaultLogStream = "INLET_LOGS"

	// DefaultDuplicateWindow is the duplicate window of an action stream whose
	// idempotency window is not set; it is JetStream's own default.
	DefaultDuplicateWindow = 2 * time.Minute
	// MinActionRetention is the shortest time actions are kept. An action
	// stream keeps its messages for this long or for its duplicate window,
	// whichever is longer.
	MinActionRetention = 7 * 24 * time.Hour

	// DefaultLogRetention is the retention of a log stream whose retention is
	// not set.
	DefaultLogRetention = 72 * time.Hour
	// LogDuplicateWindow is the duplicate window of a log stream (or its
	// retention, when that is shorter). Log records are not deduplicated
	// across sender retries; the window only absorbs a client's own resends.
	LogDuplicateWindow = time.Minute
	// DefaultLogMaxBytes bounds the size of a log stream whose size is not
	// set: 1 GiB, the oldest records discarded first, so that logs never take
	// the storage the actions need.
	DefaultLogMaxBytes int64 = 1 << 30
)

// ActionStreamConfig returns the configuration of the stream that holds the
// actions: it captures [ActionStreamSubject] ("inlet.actions.*.*").
//
// duplicateWindow is the idempotency window: a message whose Nats-Msg-Id was
// stored less than duplicateWindow ago is not stored again and its ack says
// Duplicate. Zero or less means [DefaultDuplicateWindow].
//
// Messages are kept for [MinActionRetention] or duplicateWindow, whichever is
// longer, with no count or size limit and the oldest discarded first. MaxAge
// is never shorter than the window because the server rebuilds its duplicate
// map from the stored messages after a restart: a message that aged out would
// take its id with it. replicas below 1 mean 1.
func ActionStreamConfig(name string, duplicateWindow time.Duration, replicas int, storage jetstream.StorageType) jetstream.StreamConfig {
	if duplicateWindow <= 0 {
		duplicateWindow = DefaultDuplicateWindow
	}
	return baseStreamConfig(jetstream.StreamConfig{
		Name:        name,
		Description: "inlet actions",
		Subjects:    []string{ActionStreamSubject},
		MaxAge:      max(duplicateWindow, MinActionRetention),
		Duplicates:  duplicateWindow,
		Replicas:    replicas,
		Storage:     storage,
		// An event's actions are published as one atomic batch (NATS 2.12
		// and later) where it pays: EnsureStream allows it on replicated and
		// memory streams only (atomicPays). A server that predates it ignores
		// the field, and the operator leaves it out for one
		// (Client.AtomicBatches).
		AllowAtomicPublish: true,
	})
}

// ActionStreamConfigs returns the configurations of the streams that hold the actions
// of an action stream split into partitions: [ActionStreamConfig] when partitions is
// below 2, otherwise one stream per partition, named by [PartitionStream] and
// capturing [PartitionStreamSubject], each with the same window and settings.
func ActionStreamConfigs(
	name string, partitions int, duplicateWindow time.Duration, replicas int, storage jetstream.StorageType,
) []jetstream.StreamConfig {
	if partitions < 2 {
		return []jetstream.StreamConfig{ActionStreamConfig(name, duplicateWindow, replicas, storage)}
	}
	out := make([]jetstream.StreamConfig, partitions)
	for i := range out {
		cfg := ActionStreamConfig(PartitionStream(name, i, partitions), duplicateWindow, replicas, storage)
		cfg.Description = fmt.Sprintf("inlet actions, partition %d of %d", i, partitions)
		cfg.Subjects = []string{PartitionStreamSubject(i)}
		out[i] = cfg
	}
	return out
}

// LogStreamConfig returns the configuration of the stream that holds event and
// action log records: it captures [LogStreamSubject] ("inlet.logs.>").
//
// Records are kept for retention (zero or less means [DefaultLogRetention])
// and up to [DefaultLogMaxBytes] (set MaxBytes on the result for another
// bound), with the oldest discarded first. The duplicate window is
// [LogDuplicateWindow], or retention when that is shorter. replicas below 1
// mean 1.
func LogStreamConfig(name string, retention time.Duration, replicas int, storage jetstream.StorageType) jetstream.StreamConfig {
	if retention <= 0 {
		retention = DefaultLogRetention
	}
	cfg := baseStreamConfig(jetstream.StreamConfig{
		Name:        name,
		Description: "inlet event and action logs",
		Subjects:    []string{LogStreamSubject},
		MaxAge:      retention,
		Duplicates:  min(LogDuplicateWindow, retention),
		Replicas:    replicas,
		Storage:     storage,
	})
	cfg.MaxBytes = DefaultLogMaxBytes
	return cfg
}

// baseStreamConfig fills the fields both streams share, with the explicit
// values the server would otherwise fill in, so that a configuration read back
// from the server compares equal to the one we wrote.
func baseStreamConfig(cfg jetstream.StreamConfig) jetstream.StreamConfig {
	cfg.Retention = jetstream.LimitsPolicy
	cfg.Discard = jetstream.DiscardOld
	cfg.MaxMsgs = -1
	cfg.MaxBytes = -1
	cfg.MaxMsgsPerSubject = -1
	cfg.MaxMsgSize = -1
	cfg.Replicas = max(cfg.Replicas, 1)
	// Direct gets serve GetLastMsgForSubject without going through the
	// stream leader's API queue.
	cfg.AllowDirect = true
	return cfg
}

// EnsureResult says what [EnsureStream] did. Its values read well as a
// condition reason or an event message.
type EnsureResult string

// The results of [EnsureStream].
const (
	// StreamCreated means the stream did not exist and was created.
	StreamCreated EnsureResult = "Created"
	// StreamUpdated means the stream existed with different values in the
	// fields we own and was updated.
	StreamUpdated EnsureResult = "Updated"
	// StreamUnchanged means the stream existed with the wanted values.
	StreamUnchanged EnsureResult = "Unchanged"
)

// EnsureOption changes how [EnsureStream] treats a stream it finds.
type EnsureOption func(*ensureOptions)

type ensureOptions struct {
	requireStorage bool
}

// RequireStorage makes cfg's storage type a requirement: a stream found with
// another storage type is an error. Without it, EnsureStream keeps the storage
// type of a stream it finds (cfg's storage is only used to create one).
func RequireStorage() EnsureOption { return func(o *ensureOptions) { o.requireStorage = true } }

// EnsureStream creates the stream cfg describes, or updates it so that the
// fields we own (those [ActionStreamConfig] and [LogStreamConfig] set:
// description, subjects, retention, discard, limits, age, duplicate window,
// direct access, atomic publish) match cfg, and says which it did. Fields we do not own, such
// as metadata or sources set by someone else, are kept.
//
// EnsureStream never downgrades a stream it finds: cfg.Replicas is a minimum
// (a stream with more replicas keeps them; one with fewer is scaled up), a nil
// cfg.Placement keeps the stream's placement (a non-nil one is applied, which
// may move the stream; a stream to be both scaled and moved is scaled first
// and moved by a later EnsureStream, as JetStream does one at a time), and the storage type is kept unless [RequireStorage]
// is given. The storage type of a stream cannot be changed in place; with
// RequireStorage, EnsureStream returns an error saying so rather than deleting
// the stream. js is usually a [jetstream.JetStream] ([Client.JetStream]).
func EnsureStream(ctx context.Context, js jetstream.StreamManager, cfg jetstream.StreamConfig, opts ...EnsureOption) (EnsureResult, error) {
	var o ensureOptions
	for _, opt := range opts {
		opt(&o)
	}
	s, err := js.Stream(ctx, cfg.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		create := cfg
		create.AllowAtomicPublish = atomicPays(cfg, cfg.Replicas)
		_, err = js.CreateStream(ctx, create)
		if err == nil {
			return StreamCreated, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return "", fmt.Errorf("create stream %s: %w", cfg.Name, err)
		}
		// Someone created it meanwhile, with another configuration.
		if s, err = js.Stream(ctx, cfg.Name); err != nil {
			return "", fmt.Errorf("get stream %s: %w", cfg.Name, err)
		}
	case err != nil:
		return "", fmt.Errorf("get stream %s: %w", cfg.Name, err)
	}

	have := s.CachedInfo().Config
	if have.Storage != cfg.Storage {
		if o.requireStorage {
			return "", fmt.Errorf("update stream %s: storage is %s and cannot be changed to %s in place; delete the stream to recreate it",
				cfg.Name, have.Storage, cfg.Storage)
		}
		cfg.Storage = have.Storage
	}
	cfg.AllowAtomicPublish = atomicPays(cfg, max(cfg.Replicas, have.Replicas))
	diff := diffOwned(cfg, have)
	if len(diff) == 0 {
		return StreamUnchanged, nil
	}
	if slices.Contains(diff, "replicas") && slices.Contains(diff, "placement") {
		// JetStream cannot move and scale a stream in one update: scale it
		// where it is now, and leave the move to the next EnsureStream, once
		// the scaling is done.
		scaled := mergeOwned(have, cfg)
		scaled.Placement = have.Placement
		if _, err := js.UpdateStream(ctx, scaled); err != nil {
			return "", fmt.Errorf("update stream %s (%v): %w", cfg.Name, diff, err)
		}
		return StreamUpdated, nil
	}
	if _, err := js.UpdateStream(ctx, mergeOwned(have, cfg)); err != nil {
		return "", fmt.Errorf("update stream %s (%v): %w", cfg.Name, diff, err)
	}
	return StreamUpdated, nil
}

// atomicPays says whether a stream with cfg's storage and replicas should allow the
// atomic batches cfg asks for: not on one replica in file storage, where JetStream
// stages each batch in files of its own (milliseconds to a second per event on a
// slow disk) while one server stores one connection's messages in order anyway.
func atomicPays(cfg jetstream.StreamConfig, replicas int) bool {
	return cfg.AllowAtomicPublish && (replicas > 1 || cfg.Storage == jetstream.MemoryStorage)
}

// diffOwned returns the names of the owned fields whose values differ between
// want and have, in a fixed order; nil when they all match. Subjects compare
// as sets. Replicas differ only when want asks for more than have has, and
// placement only when want sets one.
func diffOwned(want, have jetstream.StreamConfig) []string {
	var diff []string
	check := func(name string, equal bool) {
		if !equal {
			diff = append(diff, name)
		}
	}
	check("description", want.Description == have.Description)
	check("subjects", sameSet(want.Subjects, have.Subjects))
	check("retention", want.Retention == have.Retention)
	check("discard", want.Discard == have.Discard)
	check("maxAge", want.MaxAge == have.MaxAge)
	check("duplicates", want.Duplicates == have.Duplicates)
	check("maxMsgs", want.MaxMsgs == have.MaxMsgs)
	check("maxBytes", want.MaxBytes == have.MaxBytes)
	check("maxMsgsPerSubject", want.MaxMsgsPerSubject == have.MaxMsgsPerSubject)
	check("maxMsgSize", want.MaxMsgSize == have.MaxMsgSize)
	check("replicas", max(want.Replicas, 1) <= max(have.Replicas, 1))
	check("placement", want.Placement == nil || samePlacement(want.Placement, have.Placement))
	check("storage", want.Storage == have.Storage)
	check("allowDirect", want.AllowDirect == have.AllowDirect)
	check("allowAtomicPublish", want.AllowAtomicPublish == have.AllowAtomicPublish)
	return diff
}

// mergeOwned returns have with the owned fields taken from want, except that
// replicas are never lowered and a nil placement keeps have's.
func mergeOwned(have, want jetstream.StreamConfig) jetstream.StreamConfig {
	out := have
	out.Description = want.Description
	out.Subjects = slices.Clone(want.Subjects)
	out.Retention = want.Retention
	out.Discard = want.Discard
	out.MaxAge = want.MaxAge
	out.Duplicates = want.Duplicates
	out.MaxMsgs = want.MaxMsgs
	out.MaxBytes = want.MaxBytes
	out.MaxMsgsPerSubject = want.MaxMsgsPerSubject
	out.MaxMsgSize = want.MaxMsgSize
	out.Replicas = max(want.Replicas, have.Replicas, 1)
	if want.Placement != nil {
		p := *want.Placement
		p.Tags = slices.Clone(p.Tags)
		out.Placement = &p
	}
	out.Storage = want.Storage
	out.AllowDirect = want.AllowDirect
	out.AllowAtomicPublish = want.AllowAtomicPublish
	return out
}

// samePlacement reports whether two placements ask for the same cluster and
// tags; no placement equals an empty one.
func samePlacement(a, b *jetstream.Placement) bool {
	var zero jetstream.Placement
	if a == nil {
		a = &zero
	}
	if b == nil {
		b = &zero
	}
	return a.Cluster == b.Cluster && sameSet(a.Tags, b.Tags)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
