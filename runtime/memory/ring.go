package memory

// ring is a FIFO deque on a power-of-two circular buffer: O(1) amortised at
// both ends, and it never copies the live queue except to grow.
type ring[T any] struct {
	buf  []T
	head int // index of the first element
	n    int // number of elements
}

func (r *ring[T]) len() int { return r.n }

func (r *ring[T]) grow() {
	size := max(2*len(r.buf), 16)
	buf := make([]T, size)
	if r.n > 0 {
		k := copy(buf, r.buf[r.head:])
		copy(buf[k:], r.buf[:r.head])
	}
	r.buf, r.head = buf, 0
}

// pushBack appends v.
func (r *ring[T]) pushBack(v T) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = v
	r.n++
}

// pushFront prepends v.
func (r *ring[T]) pushFront(v T) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.head = (r.head - 1) & (len(r.buf) - 1)
	r.buf[r.head] = v
	r.n++
}

// front returns the first element; the ring must not be empty.
func (r *ring[T]) front() T { return r.buf[r.head] }

// popFront removes and returns the first element; the ring must not be empty.
func (r *ring[T]) popFront() T {
	var zero T
	v := r.buf[r.head]
	r.buf[r.head] = zero // drop the reference for the garbage collector
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	return v
}

// at returns element i, counted from the front.
func (r *ring[T]) at(i int) T { return r.buf[(r.head+i)&(len(r.buf)-1)] }

// clear empties the ring and drops its buffer.
func (r *ring[T]) clear() { *r = ring[T]{} }

// set replaces element i, counted from the front.
func (r *ring[T]) set(i int, v T) { r.buf[(r.head+i)&(len(r.buf)-1)] = v }

// tags tracks which delivery tags of a service are outstanding (handed out,
// not settled). Tags are handed out in increasing order and mostly settled
// in order, so a window from the oldest outstanding tag is O(1) amortised
// and allocates nothing in the steady state.
type tags struct {
	base   uint64     // every tag below base is settled
	window ring[bool] // window.at(i): tag base+i is outstanding
}

// next returns a new outstanding tag.
func (t *tags) next() uint64 {
	t.window.pushBack(true)
	return t.base + uint64(t.window.len()) - 1
}

// settle marks tag settled. It returns false when the tag was settled
// already, and known=false when it was never handed out.
func (t *tags) settle(tag uint64) (ok, known bool) {
	end := t.base + uint64(t.window.len())
	if tag >= end {
		return false, false
	}
	if tag < t.base || !t.window.at(int(tag-t.base)) {
		return false, true
	}
	t.window.set(int(tag-t.base), false)
	for t.window.len() > 0 && !t.window.front() {
		t.window.popFront()
		t.base++
	}
	return true, true
}
