package jetstream

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// Subject prefixes and the stream subjects that capture them.
const (
	// ActionSubjectPrefix starts every action subject.
	ActionSubjectPrefix = "inlet.actions"
	// LogSubjectPrefix starts every event and action log subject.
	LogSubjectPrefix = "inlet.logs"
	// EventLogSubjectPrefix starts every event log subject.
	EventLogSubjectPrefix = LogSubjectPrefix + ".events"
	// ActionLogSubjectPrefix starts every action log subject.
	ActionLogSubjectPrefix = LogSubjectPrefix + ".actions"
	// ReplayLogSubjectPrefix starts the subjects of what replays stored.
	ReplayLogSubjectPrefix = LogSubjectPrefix + ".replays"

	// ActionStreamSubject is the subject filter of an action stream that is not
	// partitioned: "inlet.actions.<environment>.<action>". It leaves out the subjects of
	// partitions, which have one more token, so both can live on one NATS.
	ActionStreamSubject = ActionSubjectPrefix + ".*.*"
	// LogStreamSubject is the subject filter of the log stream.
	LogStreamSubject = LogSubjectPrefix + ".>"
)

// ActionSubject returns the subject an action is published on:
// "inlet.actions.<environment>.<action>", for example
// "inlet.actions.production.triggerWorkflow".
//
// environment is a DNS label and action an action kind; both are escaped as
// names (see [EventLogSubject]), so any input yields a valid subject.
func ActionSubject(environment, action string) string {
	return ActionSubjectPrefix + "." + nameToken(environment) + "." + nameToken(action)
}

// PartitionSubject returns the subject of partition partition of an action stream
// split into several: "inlet.actions.<environment>.<action>.<partition>" for the
// subject "inlet.actions.<environment>.<action>". It returns subject itself when the
// stream is not split (partitions below 2).
func PartitionSubject(subject string, partition, partitions int) string {
	if partitions < 2 {
		return subject
	}
	return subject + "." + strconv.Itoa(partition)
}

// PartitionStreamSubject is the subject filter of partition partition of an action
// stream: "inlet.actions.*.*.<partition>".
func PartitionStreamSubject(partition int) string {
	return ActionStreamSubject + "." + strconv.Itoa(partition)
}

// PartitionStream names the stream of partition partition of the action stream
// stream: "<stream>_P<partition>", or stream itself when it is not split (partitions
// below 2).
func PartitionStream(stream string, partition, partitions int) string {
	if partitions < 2 {
		return stream
	}
	return stream + "_P" + strconv.Itoa(partition)
}

// Partition returns the partition of an event whose de-duplication id is id, among
// partitions: FNV-1a (64 bits) of id modulo partitions, so that every delivery of an
// event, and all its actions, go to the same partition. Anyone can compute it again.
// It is 0 when partitions is below 2.
func Partition(id string, partitions int) int {
	if partitions < 2 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum64() % uint64(partitions))
}

// ActionFilter returns the subject filter that matches every action published
// for one environment: "inlet.actions.<environment>.*".
func ActionFilter(environment string) string {
	return ActionSubjectPrefix + "." + nameToken(environment) + ".*"
}

// EventLogSubject returns the subject of the log record of one received event:
// "inlet.logs.events.<namespace>.<sourceEnvironment>.<eventID>".
//
// Every token is made a valid NATS subject token deterministically, so the
// same inputs always give the same subject and a record can be found again by
// its event id:
//
//   - namespace and sourceEnvironment are Kubernetes names. '.' becomes '_'
//     (which a Kubernetes name cannot contain, so distinct names stay
//     distinct), and any other byte outside [A-Za-z0-9_-] becomes %XX.
//   - eventID is chosen by the sender and may be anything. Bytes in
//     [A-Za-z0-9_-] are kept and every other byte, '.' and '%' included,
//     becomes %XX (upper-case hex), so distinct ids give distinct tokens:
//     "evt_1N2x" stays as it is and "2024.01.01" becomes "2024%2E01%2E01".
//
// The empty string becomes the token "%", which no other input produces.
func EventLogSubject(namespace, sourceEnvironment, eventID string) string {
	return logSubject(EventLogSubjectPrefix, namespace, sourceEnvironment, eventID)
}

// ActionLogSubject returns the subject of the log records of the actions of one
// event: "inlet.logs.actions.<namespace>.<sourceEnvironment>.<eventID>", with
// the tokens escaped as in [EventLogSubject]. All action records of an event
// share the subject; they are told apart by their content.
func ActionLogSubject(namespace, sourceEnvironment, eventID string) string {
	return logSubject(ActionLogSubjectPrefix, namespace, sourceEnvironment, eventID)
}

// ReplayLogSubject returns the subject of what replays of one event stored:
// "inlet.logs.replays.<namespace>.<sourceEnvironment>.<replayKey>", with the
// tokens escaped as in [EventLogSubject]. replayKey names the event for replays
// (see ingress.ReplayKey), so that every delivery of one event shares it.
func ReplayLogSubject(namespace, sourceEnvironment, replayKey string) string {
	return logSubject(ReplayLogSubjectPrefix, namespace, sourceEnvironment, replayKey)
}

// EventLogFilter returns the subject filter that matches the event log records
// of one SourceEnvironment: "inlet.logs.events.<namespace>.<sourceEnvironment>.*".
func EventLogFilter(namespace, sourceEnvironment string) string {
	return EventLogSubjectPrefix + "." + nameToken(namespace) + "." + nameToken(sourceEnvironment) + ".*"
}

// ActionLogFilter returns the subject filter that matches the action log
// records of one SourceEnvironment:
// "inlet.logs.actions.<namespace>.<sourceEnvironment>.*".
func ActionLogFilter(namespace, sourceEnvironment string) string {
	return ActionLogSubjectPrefix + "." + nameToken(namespace) + "." + nameToken(sourceEnvironment) + ".*"
}

func logSubject(prefix, namespace, sourceEnvironment, eventID string) string {
	return prefix + "." + nameToken(namespace) + "." + nameToken(sourceEnvironment) + "." + idToken(eventID)
}

// emptyToken stands for the empty string. Escapes are always three bytes
// ("%XX"), so a lone '%' cannot come from any other input.
const emptyToken = "%"

// nameToken escapes a Kubernetes name (or DNS label, or action kind): '.'
// becomes '_' and any other byte outside [A-Za-z0-9_-] becomes %XX.
func nameToken(s string) string {
	return escape(s, true)
}

// idToken escapes a free-form identifier injectively: bytes in [A-Za-z0-9_-]
// are kept, every other byte becomes %XX.
func idToken(s string) string {
	return escape(s, false)
}

func escape(s string, dotToUnderscore bool) string {
	if s == "" {
		return emptyToken
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !plain(s[i]) && (!dotToUnderscore || s[i] != '.') {
			n++
		}
	}
	if n == 0 && (!dotToUnderscore || strings.IndexByte(s, '.') < 0) {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case plain(c):
			b.WriteByte(c)
		case dotToUnderscore && c == '.':
			b.WriteByte('_')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0x0f])
		}
	}
	return b.String()
}

// plain reports whether c may appear unescaped in a subject token.
func plain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// EventLogNamespaceFilter returns the subject filter that matches the event log
// records of every SourceEnvironment of a namespace,
// "inlet.logs.events.<namespace>.*.*", or of every namespace when namespace is empty.
func EventLogNamespaceFilter(namespace string) string {
	if namespace == "" {
		return EventLogSubjectPrefix + ".*.*.*"
	}
	return EventLogSubjectPrefix + "." + nameToken(namespace) + ".*.*"
}

// EventLogIDFilter returns the subject filter that matches the event log record of
// the event eventID in a namespace, whichever SourceEnvironment received it:
// "inlet.logs.events.<namespace>.*.<eventID>".
func EventLogIDFilter(namespace, eventID string) string {
	return EventLogSubjectPrefix + "." + nameToken(namespace) + ".*." + idToken(eventID)
}
