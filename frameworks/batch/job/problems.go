package job

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// MsgObjectNotValid is the message of every 422 body.
const MsgObjectNotValid = "Object is not valid"

// problems collects the invalid fields of one document.
type problems struct{ details []Detail }

func (p *problems) add(path, msg string) {
	for i := range p.details {
		if p.details[i].Path == path {
			if !slices.Contains(p.details[i].Errors, msg) {
				p.details[i].Errors = append(p.details[i].Errors, msg)
			}
			return
		}
	}
	p.details = append(p.details, Detail{Path: path, Errors: []string{msg}})
}

func (p *problems) addf(path, format string, args ...any) { p.add(path, fmt.Sprintf(format, args...)) }

// err returns nil or an *InvalidError with the details sorted by path.
func (p *problems) err() error {
	if len(p.details) == 0 {
		return nil
	}
	d := slices.Clone(p.details)
	sort.SliceStable(d, func(i, j int) bool { return d[i].Path < d[j].Path })
	return &InvalidError{Details: d}
}

func marshalInvalid(d []Detail) ([]byte, error) {
	if d == nil {
		d = []Detail{}
	}
	return json.Marshal(struct {
		Message string   `json:"message"`
		Details []Detail `json:"details"`
	}{MsgObjectNotValid, d})
}

func idx(path string, i int) string { return fmt.Sprintf("%s(%d)", path, i) }
