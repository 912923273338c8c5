package workqueue

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQueueOrder(t *testing.T) {
	tests := []struct {
		name   string
		pushes [][]int
		pops   int
		want   []int
		left   int
	}{
		{"one", [][]int{{1}}, 1, []int{1}, 0},
		{"fifo", [][]int{{1, 2}, {3}}, 3, []int{1, 2, 3}, 0},
		{"some left", [][]int{{1, 2, 3}}, 2, []int{1, 2}, 1},
		{"empty push ignored", [][]int{{}, {4}}, 1, []int{4}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := New[int]()
			for _, p := range tc.pushes {
				q.Push(p...)
			}
			var got []int
			for range tc.pops {
				v, ok := q.Pop(context.Background())
				if !ok {
					t.Fatal("Pop failed")
				}
				got = append(got, v)
			}
			if !reflect.DeepEqual(got, tc.want) || q.Len() != tc.left {
				t.Errorf("popped %v, %d left; want %v, %d left", got, q.Len(), tc.want, tc.left)
			}
		})
	}
}

func TestPopEndsWithContext(t *testing.T) {
	q := New[string]()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if v, ok := q.Pop(ctx); ok || v != "" {
		t.Errorf("Pop on a done context = %q %v", v, ok)
	}
}

func TestDrainAndReady(t *testing.T) {
	q := New[int]()
	if got := q.Drain(); got != nil {
		t.Errorf("Drain of an empty queue = %v", got)
	}
	select {
	case <-q.Ready():
		t.Fatal("Ready before any Push")
	default:
	}
	q.Push(1, 2)
	q.Push(3)
	select {
	case <-q.Ready():
	default:
		t.Fatal("no Ready token after Push")
	}
	if got := q.Drain(); !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Errorf("Drain = %v", got)
	}
	if q.Len() != 0 {
		t.Errorf("Len after Drain = %d", q.Len())
	}
}

// TestWorkersShareQueue: several consumers popping concurrently each get every item
// exactly once, including items pushed while they wait.
func TestWorkersShareQueue(t *testing.T) {
	q := New[int]()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n, workers = 1000, 4
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				v, ok := q.Pop(ctx)
				if !ok {
					return
				}
				mu.Lock()
				got = append(got, v)
				mu.Unlock()
			}
		})
	}
	for i := range n {
		q.Push(i)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		done := len(got) == n
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workers took %d of %d items", len(got), n)
		}
		select {
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	wg.Wait()
	slices.Sort(got)
	for i, v := range got {
		if v != i {
			t.Fatalf("item %d = %d: lost or duplicated", i, v)
		}
	}
}
