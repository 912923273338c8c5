package resources_test

import (
	"testing"

	"github.com/agoracluster/agora/resources"
)

// A typical agent: cpus, mem, disk and ports with 10 ranges.
const agentText = "cpus:32;mem:131072;disk:1000000;ports:[31000-31099,31200-31299,31400-31499,31600-31699,31800-31899,32000-32099,32200-32299,32400-32499,32600-32699,32800-32899]"

// A typical task: a slice of each, with two ports.
const taskText = "cpus:0.5;mem:512;disk:100;ports:[31050-31050,32450-32450]"

func BenchmarkArithmetic(b *testing.B) {
	agent := resources.MustParse(agentText)
	task := resources.MustParse(taskText)
	used := agent.Minus(task)
	b.Run("Plus", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = used.Plus(task)
		}
	})
	b.Run("Minus", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = agent.Minus(task)
		}
	})
	b.Run("Contains", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = agent.Contains(task)
		}
	})
	b.Run("ScalarOnlyMinus", func(b *testing.B) {
		cpus := resources.MustParse("cpus:1;mem:128")
		b.ReportAllocs()
		for b.Loop() {
			_ = agent.Minus(cpus)
		}
	})
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = resources.Parse(agentText, "")
		}
	})
}
