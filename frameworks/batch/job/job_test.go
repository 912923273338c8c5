package job

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestDecodeSpecDefaults(t *testing.T) {
	s, err := DecodeSpec([]byte(`{"id":"prod.backup","run":{"cmd":"true"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultSpec()
	want.ID, want.Run.Cmd = "prod.backup", "true"
	if !reflect.DeepEqual(*s, want) {
		t.Fatalf("got %+v, want %+v", *s, want)
	}
}

func TestDecodeSpecInvalid(t *testing.T) {
	_, err := DecodeSpec([]byte(`{"id":"Bad","run":{"cmd":"true","cpus":-1,"bogus":1}}`))
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("got %v, want *InvalidError", err)
	}
	b, _ := json.Marshal(inv)
	t.Log(string(b))
}
