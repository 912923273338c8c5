// Package files serves the Mesos sandbox files API of the agent (/files/browse, /files/read,
// /files/download): directory listings, ranged reads and downloads of the files in executor
// sandboxes, and nothing outside them (symlinks and ".." are resolved before the check).
package files
