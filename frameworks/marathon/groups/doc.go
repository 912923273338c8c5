// Package groups is Marathon's group tree as a pure core: the /v2/groups
// JSON shape, the tree derived from a flat set of apps (plus the group
// metadata that apps cannot carry: dependencies, enforceRole, empty
// groups), the decoder and validator of posted group updates (ids relative
// to their parent, apps under their group, no duplicates, no dependency
// cycles) and the tree operations behind POST/PUT/DELETE /v2/groups:
// Apply (create or update a group of apps, or scaleBy) and Remove. It does
// no IO, reads no clock and starts no goroutines; the caller passes the new
// version timestamp in and persists the result.
package groups
