// Package app is the Marathon 1.x app definition model: the JSON shape that
// operators post to /v2/apps (with Marathon's field names, types and
// defaults), path ids resolved and validated as Marathon does, validation
// that collects every problem into Marathon's 422 body, PATCH/PUT merge
// semantics, and rendering back to the JSON that Marathon returns. It is a
// pure package: no IO, no clock, no goroutines; callers pass timestamps in.
package app
