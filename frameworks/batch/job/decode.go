package job

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// DecodeSpec parses a job spec strictly (unknown fields are errors naming their path), fills
// defaults, and validates everything at once.
func DecodeSpec(body []byte) (*Spec, error) {
	s := DefaultSpec()
	p, err := decodeStrict(body, &s)
	if err != nil {
		return nil, err
	}
	s.normalize()
	validateSpec(&s, p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return &s, nil
}

// DecodeSchedule does the same for a schedule.
func DecodeSchedule(body []byte) (*Schedule, error) {
	s := DefaultSchedule()
	p, err := decodeStrict(body, &s)
	if err != nil {
		return nil, err
	}
	validateSchedule(&s, p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return &s, nil
}

// DefaultSpec returns a spec holding every default; decoding fills in what the body names.
func DefaultSpec() Spec {
	return Spec{Run: RunSpec{
		CPUs:           DefaultCPUs,
		Mem:            DefaultMem,
		Disk:           DefaultDisk,
		MaxLaunchDelay: DefaultMaxLaunchDelay,
		Restart:        Restart{Policy: RestartNever},
		Parallelism:    1,
		Completions:    1,
	}}
}

// DefaultSchedule returns a schedule holding every default.
func DefaultSchedule() Schedule {
	return Schedule{
		Timezone:                DefaultTimezone,
		StartingDeadlineSeconds: DefaultStartingDeadlineSeconds,
		ConcurrencyPolicy:       ConcurrencyAllow,
		Enabled:                 true,
	}
}

// The defaults of absent fields (Metronome's).
const (
	DefaultCPUs                    = 1.0
	DefaultMem                     = 128.0 // MiB
	DefaultDisk                    = 0.0   // MiB
	DefaultMaxLaunchDelay          = 3600  // seconds
	DefaultTimezone                = "UTC"
	DefaultStartingDeadlineSeconds = 900
)

// decodeStrict checks body against dst's JSON shape (every unknown field and every value of the
// wrong type, each with its path), then decodes the rest over dst, whose present fields it
// replaces: JSON null and values of the wrong type leave dst's default. It returns the shape's
// problems; or ErrMalformed (wrapped) for a body that is not one JSON value, or an
// *InvalidError for one that is not an object.
func decodeStrict(body []byte, dst any) (*problems, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrMalformed)
	} else if !isEOF(err) {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	p := &problems{}
	checkShape(v, reflect.TypeOf(dst).Elem(), "", p)
	if _, ok := v.(map[string]any); !ok {
		return nil, p.err() // nothing to validate
	}
	// Unmarshal skips the values of the wrong type (checkShape reported them) and decodes the
	// rest; unknown fields it ignores, and checkShape rejected every key that is not an exact
	// field name, so its case-insensitive matching never applies.
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(body, dst); err != nil && !errors.As(err, &typeErr) {
		p.add("/", err.Error())
	}
	return p, nil
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// checkShape reports every field of v that t does not have and every value of the wrong type.
func checkShape(v any, t reflect.Type, path string, p *problems) {
	if v == nil {
		if path == "" {
			p.add("/", "expected a JSON object")
		}
		return // null: the field keeps its default
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkShape(v, t.Elem(), path, p)
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			p.add(pathOrRoot(path), "expected a JSON object")
			return
		}
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			f, ok := fields[k]
			if !ok {
				p.add(path+"/"+escapeKey(k), "unknown field")
				continue
			}
			checkShape(obj[k], f.Type, path+"/"+k, p)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			p.add(pathOrRoot(path), "expected a JSON object")
			return
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if obj[k] == nil {
				p.add(path+"/"+escapeKey(k), "must not be null")
				continue
			}
			checkShape(obj[k], t.Elem(), path+"/"+escapeKey(k), p)
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			p.add(pathOrRoot(path), "expected a JSON array")
			return
		}
		for i, e := range arr {
			if e == nil {
				p.add(idx(path, i), "must not be null")
				continue
			}
			checkShape(e, t.Elem(), idx(path, i), p)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			p.add(pathOrRoot(path), "expected a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			p.add(pathOrRoot(path), "expected a boolean")
		}
	case reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			p.add(pathOrRoot(path), "expected a number")
			return
		}
		if _, err := strconv.ParseFloat(string(n), 64); err != nil {
			p.add(pathOrRoot(path), fmt.Sprintf("%s is out of range", n))
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			p.add(pathOrRoot(path), "expected an integer")
			return
		}
		if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
			p.add(pathOrRoot(path), fmt.Sprintf("%s is not an integer in range", n))
		}
	default:
		p.add(pathOrRoot(path), "unsupported field type "+t.String())
	}
}

type fieldInfo struct{ Type reflect.Type }

// jsonFields maps the JSON names of t's exported fields to their types.
func jsonFields(t reflect.Type) map[string]fieldInfo {
	out := make(map[string]fieldInfo, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = fieldInfo{Type: f.Type}
	}
	return out
}

func pathOrRoot(path string) string {
	if path == "" {
		return "/"
	}
	return path
}

// escapeKey escapes a map key for a path as JSON Pointer does (RFC 6901).
func escapeKey(k string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
}

// normalize makes empty collections nil, so that a spec encodes and decodes to itself.
func (s *Spec) normalize() {
	s.Labels = nilIfEmptyMap(s.Labels)
	s.Dependencies = nilIfEmpty(s.Dependencies)
	r := &s.Run
	r.Args = nilIfEmpty(r.Args)
	r.Env = nilIfEmptyMap(r.Env)
	r.Artifacts = nilIfEmpty(r.Artifacts)
	if r.Docker != nil {
		r.Docker.Parameters = nilIfEmpty(r.Docker.Parameters)
	}
	if r.Placement != nil {
		r.Placement.Constraints = nilIfEmpty(r.Placement.Constraints)
	}
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nilIfEmptyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
