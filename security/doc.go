// Package security holds Agora's authentication and authorization, in the shape of
// Mesos's: credentials files of principal/secret pairs (credentials), Mesos's ACL JSON and
// the local authorizer's rules (acl), files reloaded when they change without losing the
// last good version to a bad edit (reload), and HTTP Basic authentication for every API
// (authn). The master, the agent and the frameworks use them; every piece is off unless
// its flag is given.
package security
