package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

var errEngineClosed = errors.New("engine closed")

// ErrSubscriptionClosed is what Next returns after Close.
var ErrSubscriptionClosed = errors.New("subscription closed")

// SubscribeOptions configure Subscribe (TAIL's AS OF and WITH options).
type SubscribeOptions struct {
	// AsOf is the LSN to start from; with HasAsOf unset the subscription starts at the view's
	// current frontier.
	AsOf    uint64
	HasAsOf bool
	// Snapshot delivers the view's contents at the start LSN first.
	Snapshot bool
	// Progress delivers a progress batch after every epoch, also when the view did not change.
	Progress bool
	// Buffer is how many epochs may wait for the subscriber before it is cut off (default
	// Options.SubscriberBuffer, else 4096).
	Buffer int
}

// Batch is what a subscription delivers: a view's consolidated changes of one epoch, or its
// snapshot, or (Progress) the news that the view is complete up to LSN.
type Batch struct {
	LSN      uint64
	Updates  []dataflow.Update // rows are the view's rows; Diff is the change in count
	Progress bool
}

// Subscription delivers a view's changes in LSN order, one epoch per batch.
//
// A subscriber that lets Buffer batches pile up is disconnected with an error rather than
// slowing down writers. Next and Close may be called from different goroutines.
type Subscription struct {
	view     string
	columns  []Column
	progress bool
	ch       chan Batch
	done     chan struct{}
	once     sync.Once
	mu       sync.Mutex
	err      error
	e        *Engine
	v        *view
	// catchUp is set while a subscription that resumed from the past reads history; only
	// Next uses it.
	catchUp *historyCursor
}

// Subscribe starts a subscription to a materialized view.
func (e *Engine) Subscribe(ctx context.Context, name string, opts SubscribeOptions) (*Subscription, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errEngineClosed
	}
	v, ok := e.views[strings.ToLower(name)]
	if !ok {
		if _, plain := e.plain[strings.ToLower(name)]; plain {
			return nil, sqlerr.New(sqlerr.WrongObject, "'%s' is not a materialized view: only materialized views can be tailed", name)
		}
		return nil, sqlerr.New(sqlerr.NoSuchTable, "Materialized view '%s' doesn't exist", name)
	}
	if e.failed != nil {
		return nil, e.failed
	}
	start := v.frontier
	catching := opts.HasAsOf && opts.AsOf != v.frontier
	if catching {
		if err := e.checkHistory(v, opts.AsOf); err != nil {
			return nil, err
		}
		start = opts.AsOf
	}
	if opts.Buffer <= 0 {
		opts.Buffer = e.subscriberBuffer
	}
	s := &Subscription{
		view: v.name, progress: opts.Progress, ch: make(chan Batch, opts.Buffer+3),
		done: make(chan struct{}), e: e, v: v,
	}
	s.columns = []Column{{Name: "lsn", Kind: dataflow.KindInt, SQLType: "BIGINT UNSIGNED"}, {Name: "diff", Kind: dataflow.KindInt, SQLType: "BIGINT"}}
	if opts.Progress {
		s.columns = append(s.columns, Column{Name: "progressed", Kind: dataflow.KindInt, SQLType: "BOOLEAN"})
	}
	s.columns = append(s.columns, resultColumns(v.query.Columns())...)
	// head is what comes before the changes after start.
	var head []Batch
	if opts.Snapshot {
		snap, err := e.snapshotAsOf(v, start)
		if err != nil {
			return nil, err
		}
		head = append(head, Batch{LSN: start, Updates: snap})
	}
	if opts.Progress {
		head = append(head, Batch{LSN: start, Progress: true})
	}
	if catching {
		s.catchUp = &historyCursor{after: start, upTo: v.frontier, queue: head}
	} else {
		for _, b := range head {
			s.ch <- b
		}
	}
	v.subs[s] = struct{}{}
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// checkHistory fails unless a subscription may resume from asOf: the view's history holds
// every change after it. Called with e.mu held.
func (e *Engine) checkHistory(v *view, asOf uint64) error {
	if asOf > v.frontier {
		return sqlerr.New(sqlerr.WrongValue, "AS OF %d is beyond the log head %d", asOf, v.frontier)
	}
	if !e.state.durable() {
		return sqlerr.New(sqlerr.WrongValue, "AS OF %d is before the oldest LSN available for view %s, %d: an engine without a data directory keeps no history", asOf, v.name, v.frontier)
	}
	if oldest := max(v.created, e.state.historyFrom); asOf < oldest {
		return sqlerr.New(sqlerr.WrongValue, "AS OF %d is before the oldest LSN available for view %s, %d: resume from %d or later, or start over with a snapshot", asOf, v.name, oldest, oldest)
	}
	return nil
}

// historyCursor is the catching-up part of a subscription that resumes from an LSN in the
// past: the view's history is read from the view store a page at a time, as the subscriber
// reads, so that a long gap costs no memory; live batches wait in the channel meanwhile.
type historyCursor struct {
	after uint64  // the last LSN read from the history
	upTo  uint64  // the view's frontier when the subscription started: live batches follow
	queue []Batch // read and not yet delivered
}

// historyPage is how many history records one read takes.
const historyPage = 256

var errPageFull = errors.New("page full")

// nextCaughtUp returns the next batch of the catch-up, or false once it is over.
func (s *Subscription) nextCaughtUp() (Batch, bool, error) {
	c := s.catchUp
	for len(c.queue) == 0 {
		select {
		case <-s.done:
			s.catchUp = nil // ended (closed, view dropped): say why, like a live subscription
			return Batch{}, false, nil
		default:
		}
		if c.after >= c.upTo {
			s.catchUp = nil
			return Batch{}, false, nil
		}
		if err := s.e.readHistoryPage(s, c); err != nil {
			return Batch{}, false, err
		}
	}
	b := c.queue[0]
	c.queue = c.queue[1:]
	return b, true, nil
}

// readHistoryPage reads the next page of a catching-up subscription's history.
func (e *Engine) readHistoryPage(s *Subscription, c *historyCursor) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errEngineClosed
	}
	if e.state.historyFrom > c.after {
		return sqlerr.New(sqlerr.WrongValue, "the history of %s after LSN %d was truncated (retention) while the subscriber caught up: resume from %d or later, or start over with a snapshot", s.view, c.after, e.state.historyFrom)
	}
	n := 0
	from := c.after
	err := e.state.store.ReadHistory(s.v.historyName(), c.after, c.upTo, func(lsn uint64, us []dataflow.Update) error {
		c.queue = append(c.queue, Batch{LSN: lsn, Updates: us})
		if s.progress {
			c.queue = append(c.queue, Batch{LSN: lsn, Progress: true})
		}
		c.after = lsn
		if n++; n >= historyPage {
			return errPageFull
		}
		return nil
	})
	if errors.Is(err, errPageFull) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read history of %s after LSN %d: %w", s.view, from, err)
	}
	if s.progress && c.after != c.upTo {
		c.queue = append(c.queue, Batch{LSN: c.upTo, Progress: true})
	}
	c.after = c.upTo
	return nil
}

// snapshotAsOf returns a view's contents at asOf (at most its frontier): its contents less
// the changes of its history after asOf. Called with e.mu held.
func (e *Engine) snapshotAsOf(v *view, asOf uint64) ([]dataflow.Update, error) {
	var snap []dataflow.Update
	err := v.contents.Scan(func(_ []byte, row dataflow.Row, c dataflow.Diff) bool {
		snap = append(snap, dataflow.Update{Row: row, Time: asOf, Diff: c})
		return true
	})
	if err != nil || asOf == v.frontier {
		return snap, err
	}
	err = e.state.store.ReadHistory(v.historyName(), asOf, v.frontier, func(_ uint64, us []dataflow.Update) error {
		for _, u := range us {
			snap = append(snap, dataflow.Update{Row: u.Row, Time: asOf, Diff: -u.Diff})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", v.name, err)
	}
	return dataflow.Consolidate(snap), nil
}

// Columns returns TAIL's columns: lsn, diff, [progressed], then the view's.
func (s *Subscription) Columns() []Column { return s.columns }

// Next waits for the next batch. Once the subscription has ended and every delivered batch
// was read, it returns why it ended (ErrSubscriptionClosed after Close), or ctx's error.
func (s *Subscription) Next(ctx context.Context) (Batch, error) {
	if s.catchUp != nil {
		b, ok, err := s.nextCaughtUp()
		if err != nil {
			s.end(err)
			return Batch{}, err
		}
		if ok {
			return b, nil
		}
	}
	select {
	case b := <-s.ch:
		return b, nil
	default:
	}
	select {
	case b := <-s.ch:
		return b, nil
	case <-s.done:
		select {
		case b := <-s.ch:
			return b, nil
		default:
		}
		if err := s.Err(); err != nil {
			return Batch{}, err
		}
		return Batch{}, ErrSubscriptionClosed
	case <-ctx.Done():
		return Batch{}, ctx.Err()
	}
}

// Rows formats a batch as TAIL rows: lsn, diff, [progressed], then the view's columns.
func (s *Subscription) Rows(b Batch) []dataflow.Row {
	width := len(s.columns)
	if b.Progress {
		row := make(dataflow.Row, width)
		row[0] = dataflow.NewInt(int64(b.LSN))
		row[2] = dataflow.NewInt(1)
		return []dataflow.Row{row}
	}
	rows := make([]dataflow.Row, len(b.Updates))
	for i, u := range b.Updates {
		row := make(dataflow.Row, 0, width)
		row = append(row, dataflow.NewInt(int64(b.LSN)), dataflow.NewInt(u.Diff))
		if s.progress {
			row = append(row, dataflow.NewInt(0))
		}
		rows[i] = append(row, u.Row...)
	}
	return rows
}

// Err is why the subscription ended, or nil while it runs or after Close.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.e.mu.Lock()
	delete(s.v.subs, s)
	s.e.mu.Unlock()
	s.end(nil)
}

func (s *Subscription) end(err error) {
	s.once.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.done)
	})
}

// offer queues a batch without blocking; a full buffer disconnects the subscriber. Called
// with e.mu held.
func (s *Subscription) offer(b Batch) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	if len(s.ch) >= cap(s.ch)-1 {
		s.end(fmt.Errorf("subscriber to %s fell more than %d epochs behind and was disconnected; resume with AS OF %d", s.view, cap(s.ch)-1, b.LSN-1))
		return false
	}
	s.ch <- b
	return true
}

// publish delivers an epoch's changes (possibly none) to the view's subscribers. Called
// with e.mu held.
func (v *view) publish(lsn uint64, changes []dataflow.Update) {
	for s := range v.subs {
		ok := true
		if len(changes) > 0 {
			if ok = s.offer(Batch{LSN: lsn, Updates: changes}); ok {
				v.rowsSent += uint64(len(changes))
			}
		}
		if ok && s.progress {
			ok = s.offer(Batch{LSN: lsn, Progress: true})
		}
		if !ok {
			delete(v.subs, s)
		}
	}
}

// closeSubscribers ends every subscription of the view with err. Called with e.mu held.
func (v *view) closeSubscribers(err error) {
	for s := range v.subs {
		s.end(err)
		delete(v.subs, s)
	}
}
