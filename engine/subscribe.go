package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cdc-dev/cdc/arrangements"
	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
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
	// MatchColumns and MatchValues restrict the subscription to the rows whose named columns
	// equal the values (NULL matches NULL): the snapshot, resumed history and every batch
	// hold only those rows, and batches that would be empty are not delivered. Subscribers
	// matching the same columns share an index, so that a change costs one lookup whatever
	// the number of subscribers; matching a leading run of the view's columns also reads the
	// snapshot as a range instead of a scan.
	MatchColumns []string
	MatchValues  dataflow.Row
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
	// match is set for a subscription restricted to rows with given column values.
	match *rowMatch
	// snapshot is the view's contents at snapLSN, taken with the engine's lock held and read
	// by the first Next without it (guarded by mu: Close releases it if Next never comes).
	snapshot *arrangements.Snapshot
	snapLSN  uint64
}

// rowMatch restricts a subscription to the rows whose cols equal vals; key is their
// encoding (dataflow.AppendColumnsKey of a matching row) and mask names cols.
type rowMatch struct {
	cols []int
	vals dataflow.Row
	key  string
	mask string
}

// matches reports whether a row is one of the match's.
func (m *rowMatch) matches(row dataflow.Row) bool {
	for i, c := range m.cols {
		if dataflow.Compare(row[c], m.vals[i]) != 0 || row[c].IsNull() != m.vals[i].IsNull() {
			return false
		}
	}
	return true
}

// filter returns the updates whose rows match, reusing us.
func (m *rowMatch) filter(us []dataflow.Update) []dataflow.Update {
	out := us[:0:0]
	for _, u := range us {
		if m.matches(u.Row) {
			out = append(out, u)
		}
	}
	return out
}

// matchIndex holds a view's subscribers that match the same columns, by the encoding of
// their values.
type matchIndex struct {
	cols     []int
	subs     map[string]map[*Subscription]struct{}
	progress int // subscribers that asked for progress
}

// newRowMatch resolves a subscription's match against the view's columns.
func newRowMatch(v *view, opts SubscribeOptions) (*rowMatch, error) {
	if len(opts.MatchColumns) == 0 {
		return nil, nil
	}
	if len(opts.MatchColumns) != len(opts.MatchValues) {
		return nil, fmt.Errorf("subscribe to %s: %d match columns but %d values", v.name, len(opts.MatchColumns), len(opts.MatchValues))
	}
	m := &rowMatch{vals: opts.MatchValues}
	cols := v.query.Columns()
	var mask strings.Builder
	for _, name := range opts.MatchColumns {
		i := slices.IndexFunc(cols, func(c sqlplan.ColumnInfo) bool { return strings.EqualFold(c.Name, name) })
		if i < 0 {
			return nil, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in materialized view %s", name, v.name)
		}
		m.cols = append(m.cols, i)
		fmt.Fprintf(&mask, "%d,", i)
	}
	m.mask = mask.String()
	m.key = string(dataflow.AppendColumnsKey(nil, m.vals, seq(len(m.vals))))
	return m, nil
}

// seq returns 0, 1, ..., n-1.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// prefixKey returns the encoding of the match's values if its columns are the view's first
// columns in order (the contents can then be read as a range), else nil.
func (m *rowMatch) prefixKey() []byte {
	for i, c := range m.cols {
		if c != i {
			return nil
		}
	}
	return []byte(m.key)
}

// addSub registers a subscription to the view's changes. Called with e.mu held.
func (v *view) addSub(s *Subscription) {
	if s.match == nil {
		v.subs[s] = struct{}{}
		return
	}
	if v.matches == nil {
		v.matches = map[string]*matchIndex{}
	}
	idx, ok := v.matches[s.match.mask]
	if !ok {
		idx = &matchIndex{cols: s.match.cols, subs: map[string]map[*Subscription]struct{}{}}
		v.matches[s.match.mask] = idx
	}
	set, ok := idx.subs[s.match.key]
	if !ok {
		set = map[*Subscription]struct{}{}
		idx.subs[s.match.key] = set
	}
	set[s] = struct{}{}
	if s.progress {
		idx.progress++
	}
}

// removeSub forgets a subscription. Called with e.mu held.
func (v *view) removeSub(s *Subscription) {
	if s.match == nil {
		delete(v.subs, s)
		return
	}
	idx, ok := v.matches[s.match.mask]
	if !ok {
		return
	}
	if set, ok := idx.subs[s.match.key]; ok {
		if _, in := set[s]; in && s.progress {
			idx.progress--
		}
		delete(set, s)
		if len(set) == 0 {
			delete(idx.subs, s.match.key)
		}
	}
	if len(idx.subs) == 0 {
		delete(v.matches, s.match.mask)
	}
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
		if _, table := e.tables[strings.ToLower(name)]; table {
			return nil, sqlerr.New(sqlerr.WrongObject, "'%s' is a table: only materialized views can be tailed (CREATE MATERIALIZED VIEW ... AS SELECT * FROM %s)", name, name)
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
	match, err := newRowMatch(v, opts)
	if err != nil {
		return nil, err
	}
	s := &Subscription{match: match,
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
	if opts.Snapshot && !catching && match == nil {
		// A whole view at its frontier: a Pebble snapshot now, read by Next without the
		// engine's lock, so that the snapshot of a large view holds back nobody.
		if sn, err := arrangements.SnapshotOf(v.contents); err == nil {
			s.snapshot, s.snapLSN = sn, start
		}
	}
	if opts.Snapshot && s.snapshot == nil {
		snap, err := e.snapshotMatching(v, start, match)
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
	} else if s.snapshot != nil {
		// The head follows the snapshot, which Next reads first; then the live batches.
		s.catchUp = &historyCursor{after: start, upTo: start, queue: head}
	} else {
		for _, b := range head {
			s.ch <- b
		}
	}
	v.addSub(s)
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
		if s.match != nil {
			us = s.match.filter(us)
		}
		if len(us) > 0 {
			c.queue = append(c.queue, Batch{LSN: lsn, Updates: us})
		}
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

// snapshotMatching is snapshotAsOf restricted to a match's rows (all rows for nil); at the
// view's frontier a match on leading columns reads only its range of the contents.
func (e *Engine) snapshotMatching(v *view, asOf uint64, m *rowMatch) ([]dataflow.Update, error) {
	if m == nil {
		return e.snapshotAsOf(v, asOf)
	}
	if key := m.prefixKey(); key != nil && asOf == v.frontier {
		var snap []dataflow.Update
		err := v.contents.Get(key, func(row dataflow.Row, c dataflow.Diff) bool {
			snap = append(snap, dataflow.Update{Row: row, Time: asOf, Diff: c})
			return true
		})
		return snap, err
	}
	snap, err := e.snapshotAsOf(v, asOf)
	if err != nil {
		return nil, err
	}
	return m.filter(snap), nil
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
	if b, ok, err := s.nextSnapshot(ctx); ok || err != nil {
		if err != nil {
			s.end(err)
		}
		return b, err
	}
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

// Buffered reports whether a batch of the live stream is waiting, so that Next returns it
// without blocking: a writer may send it in one write with the batches before (an epoch's
// changes and its progress are two). Called by Next's caller.
func (s *Subscription) Buffered() bool { return s.catchUp == nil && len(s.ch) > 0 }

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
	s.v.removeSub(s)
	s.e.mu.Unlock()
	s.end(nil)
}

func (s *Subscription) end(err error) {
	s.once.Do(func() {
		s.mu.Lock()
		s.err = err
		sn := s.snapshot
		s.snapshot = nil
		s.mu.Unlock()
		if sn != nil {
			_ = sn.Close()
		}
		close(s.done)
	})
}

// nextSnapshot reads the subscription's pending snapshot, if it has one, as its first batch.
func (s *Subscription) nextSnapshot(ctx context.Context) (Batch, bool, error) {
	s.mu.Lock()
	sn := s.snapshot
	s.snapshot = nil
	s.mu.Unlock()
	if sn == nil {
		return Batch{}, false, nil
	}
	defer sn.Close()
	var us []dataflow.Update
	var stop error
	err := sn.Scan(func(_ []byte, row dataflow.Row, c dataflow.Diff) bool {
		us = append(us, dataflow.Update{Row: row, Time: s.snapLSN, Diff: c})
		if len(us)%1024 == 0 {
			stop = ctx.Err()
		}
		return stop == nil
	})
	if err == nil {
		err = stop
	}
	if err != nil {
		return Batch{}, false, fmt.Errorf("read the snapshot of %s: %w", s.view, err)
	}
	return Batch{LSN: s.snapLSN, Updates: us}, true, nil
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

// publish delivers an epoch's changes (possibly none) to the view's subscribers: all of them
// to the plain ones, and to each matching subscriber the changes of its rows, found by one
// lookup per change and index. Called with e.mu held.
func (v *view) publish(lsn uint64, changes []dataflow.Update) {
	for s := range v.subs {
		if !v.deliver(s, lsn, changes) {
			delete(v.subs, s)
		}
	}
	var key []byte
	for _, idx := range v.matches {
		var byKey map[string][]dataflow.Update
		for _, u := range changes {
			key = dataflow.AppendColumnsKey(key[:0], u.Row, idx.cols)
			if _, ok := idx.subs[string(key)]; !ok {
				continue
			}
			if byKey == nil {
				byKey = map[string][]dataflow.Update{}
			}
			byKey[string(key)] = append(byKey[string(key)], u)
		}
		if idx.progress == 0 {
			// Only the subscribers of changed rows hear of this epoch.
			for k, us := range byKey {
				for s := range idx.subs[k] {
					if !v.deliver(s, lsn, us) {
						v.removeSub(s)
					}
				}
			}
			continue
		}
		for k, set := range idx.subs {
			us := byKey[k]
			for s := range set {
				if (len(us) > 0 || s.progress) && !v.deliver(s, lsn, us) {
					v.removeSub(s)
				}
			}
		}
	}
}

// deliver offers a subscriber an epoch's changes and, if it asked, progress; false means it
// was cut off.
func (v *view) deliver(s *Subscription, lsn uint64, changes []dataflow.Update) bool {
	if len(changes) > 0 {
		if !s.offer(Batch{LSN: lsn, Updates: changes}) {
			return false
		}
		v.rowsSent += uint64(len(changes))
	}
	if s.progress {
		return s.offer(Batch{LSN: lsn, Progress: true})
	}
	return true
}

// subscribers counts the view's subscriptions. Called with e.mu held.
func (v *view) subscribers() int {
	n := len(v.subs)
	for _, idx := range v.matches {
		for _, set := range idx.subs {
			n += len(set)
		}
	}
	return n
}

// closeSubscribers ends every subscription of the view with err. Called with e.mu held.
func (v *view) closeSubscribers(err error) {
	for s := range v.subs {
		s.end(err)
		delete(v.subs, s)
	}
	for _, idx := range v.matches {
		for _, set := range idx.subs {
			for s := range set {
				s.end(err)
			}
		}
	}
	v.matches = nil
}
