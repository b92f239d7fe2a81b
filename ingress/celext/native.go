package celext

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// ToNative converts a CEL value to the Go value encoding/json marshals as the same JSON:
//
//	null                 -> nil
//	bool                 -> bool
//	int, uint, double    -> int64, uint64, float64 (NaN and ±Inf are an error: JSON has no such numbers)
//	string               -> string
//	bytes                -> string, standard base64 with padding (as proto3 JSON and encoding/json write bytes)
//	timestamp            -> string, RFC 3339 in UTC with as many fractional digits as needed
//	duration             -> string, seconds with an "s" suffix, e.g. "1.5s" (as proto3 JSON writes durations)
//	list                 -> []any
//	map                  -> map[string]any; int, uint and bool keys become their decimal or true/false text
//	optional             -> its value, or nil when empty
//
// Lists and maps that come straight from Vars (the []any and map[string]any json.Unmarshal
// builds) are returned as they are, without copying, so a mapping that passes a part of the
// body through costs nothing; treat the result as read-only. Any other value (a type, an
// unknown, an error) is an error.
func ToNative(v ref.Val) (any, error) {
	switch t := v.(type) {
	case types.Null:
		return nil, nil
	case types.Bool:
		return bool(t), nil
	case types.Int:
		return int64(t), nil
	case types.Uint:
		return uint64(t), nil
	case types.Double:
		f := float64(t)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v is not a JSON number", f)
		}
		return f, nil
	case types.String:
		return string(t), nil
	case types.Bytes:
		return base64.StdEncoding.EncodeToString(t), nil
	case types.Timestamp:
		return t.UTC().Format(time.RFC3339Nano), nil
	case types.Duration:
		return formatDuration(t.Duration), nil
	case *types.Optional:
		if !t.HasValue() {
			return nil, nil
		}
		return ToNative(t.GetValue())
	case *types.Err:
		return nil, t
	case traits.Mapper:
		return mapToNative(t)
	case traits.Lister:
		return listToNative(t)
	case nil:
		return nil, fmt.Errorf("no value")
	}
	return nil, fmt.Errorf("a %s cannot be converted to JSON", v.Type().TypeName())
}

func listToNative(l traits.Lister) (any, error) {
	switch raw := l.Value().(type) {
	case []any:
		return raw, nil
	case []ref.Val:
		out := make([]any, len(raw))
		for i, e := range raw {
			n, err := ToNative(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	size, ok := l.Size().(types.Int)
	if !ok {
		return nil, fmt.Errorf("list has no size")
	}
	out := make([]any, 0, int(size))
	for it := l.Iterator(); it.HasNext() == types.True; {
		n, err := ToNative(it.Next())
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func mapToNative(m traits.Mapper) (any, error) {
	switch raw := m.Value().(type) {
	case map[string]any:
		return raw, nil
	case map[string]string:
		out := make(map[string]any, len(raw))
		for k, v := range raw {
			out[k] = v
		}
		return out, nil
	case map[ref.Val]ref.Val:
		out := make(map[string]any, len(raw))
		for k, v := range raw {
			if err := putNative(out, k, v); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	size, ok := m.Size().(types.Int)
	if !ok {
		return nil, fmt.Errorf("map has no size")
	}
	out := make(map[string]any, int(size))
	for it := m.Iterator(); it.HasNext() == types.True; {
		k := it.Next()
		if err := putNative(out, k, m.Get(k)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// putNative converts one map entry and stores it in out under its key's JSON name.
func putNative(out map[string]any, k, v ref.Val) error {
	var key string
	switch kt := k.(type) {
	case types.String:
		key = string(kt)
	case types.Int:
		key = strconv.FormatInt(int64(kt), 10)
	case types.Uint:
		key = strconv.FormatUint(uint64(kt), 10)
	case types.Bool:
		key = strconv.FormatBool(bool(kt))
	default:
		return fmt.Errorf("a map key of type %s cannot be a JSON object key", k.Type().TypeName())
	}
	if _, dup := out[key]; dup {
		return fmt.Errorf("map has two keys written %q in JSON", key)
	}
	n, err := ToNative(v)
	if err != nil {
		return err
	}
	out[key] = n
	return nil
}

// formatDuration writes d as proto3 JSON does: seconds, a fraction of 3, 6 or 9 digits when
// needed, and "s".
func formatDuration(d time.Duration) string {
	var b strings.Builder
	u := uint64(d)
	if d < 0 {
		b.WriteByte('-')
		u = -u
	}
	sec, nsec := u/uint64(time.Second), u%uint64(time.Second)
	b.WriteString(strconv.FormatUint(sec, 10))
	switch {
	case nsec == 0:
	case nsec%1e6 == 0:
		fmt.Fprintf(&b, ".%03d", nsec/1e6)
	case nsec%1e3 == 0:
		fmt.Fprintf(&b, ".%06d", nsec/1e3)
	default:
		fmt.Fprintf(&b, ".%09d", nsec)
	}
	b.WriteByte('s')
	return b.String()
}
