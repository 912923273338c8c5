// Package clocktest is a fake agent/clock.Clock that moves only when told to.
package clocktest
