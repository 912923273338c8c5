package mesos

import (
	"bytes"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// MarshalJSON encodes m as Mesos encodes JSON on its v1 HTTP APIs: proto field
// names (`framework_id`), enum values by name, bytes as base64, and 64-bit
// integers as JSON numbers. The last point is where it differs from plain
// protojson, which writes 64-bit integers as strings ("31000"); Mesos writes
// numbers (31000), and clients decoding into integer types expect numbers
// (port ranges, TimeInfo/DurationInfo nanoseconds). Output is deterministic:
// object keys are sorted.
//
// Like Mesos, it fails when a required field is missing.
func MarshalJSON(m proto.Message) ([]byte, error) {
	raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree map[string]any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("mesos: re-reading protojson output: %w", err)
	}
	numberifyMessage(tree, m.ProtoReflect().Descriptor())
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tree); err != nil {
		return nil, fmt.Errorf("mesos: encoding JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON decodes JSON from outside (a Mesos client, agent or executor)
// into m. It accepts proto or lowerCamel field names, enum names or numbers,
// and 64-bit integers as numbers or strings; unknown fields are ignored so
// that newer clients keep working. Missing required fields are an error.
func UnmarshalJSON(b []byte, m proto.Message) error {
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, m)
}

func numberifyMessage(obj map[string]any, md protoreflect.MessageDescriptor) {
	fields := md.Fields()
	for key, val := range obj {
		fd := fields.ByName(protoreflect.Name(key))
		if fd == nil {
			fd = fields.ByJSONName(key)
		}
		if fd == nil {
			continue
		}
		obj[key] = numberifyField(val, fd)
	}
}

func numberifyField(val any, fd protoreflect.FieldDescriptor) any {
	switch {
	case fd.IsList():
		if list, ok := val.([]any); ok {
			for i, v := range list {
				list[i] = numberifySingular(v, fd)
			}
		}
		return val
	case fd.IsMap():
		if m, ok := val.(map[string]any); ok {
			for k, v := range m {
				m[k] = numberifySingular(v, fd.MapValue())
			}
		}
		return val
	default:
		return numberifySingular(val, fd)
	}
}

func numberifySingular(val any, fd protoreflect.FieldDescriptor) any {
	switch fd.Kind() {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if s, ok := val.(string); ok {
			return json.Number(s)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if obj, ok := val.(map[string]any); ok {
			numberifyMessage(obj, fd.Message())
		}
	}
	return val
}
