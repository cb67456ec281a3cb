// Package notifications is the shop's notification service: it tells each
// customer how their order went, and keeps the story of every order.
package notifications

//go:generate go tool necrogen

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/necrostack/necrostack/examples/shop/events"
)

// Notifier writes to customers. Events of one order reach it in any order
// (they come from several services), so it keeps each order's story until
// the order is placed and closed; then the story is final.
type Notifier struct {
	// Final is called once per order when its story is complete.
	Final func(order int)

	mu      sync.Mutex
	stories map[int]*story
}

type story struct {
	placed  *events.OrderPlaced
	shipped *events.OrderShipped
	closed  string // "completed", or "cancelled: REASON"
	final   bool
}

func (n *Notifier) update(order int, f func(*story)) {
	n.mu.Lock()
	if n.stories == nil {
		n.stories = map[int]*story{}
	}
	s := n.stories[order]
	if s == nil {
		s = &story{}
		n.stories[order] = s
	}
	f(s)
	done := !s.final && s.placed != nil && s.closed != "" && (s.shipped != nil || strings.HasPrefix(s.closed, "cancelled"))
	if done {
		s.final = true
	}
	n.mu.Unlock()
	if done && n.Final != nil {
		n.Final(order)
	}
}

// Placed notes an order placed.
//
//necro:listens ORDER_PLACED
func (n *Notifier) Placed(_ context.Context, o events.OrderPlaced) error {
	n.update(o.Order, func(s *story) { s.placed = &o })
	return nil
}

// Shipped notes a parcel on its way.
//
//necro:listens ORDER_SHIPPED
func (n *Notifier) Shipped(_ context.Context, o events.OrderShipped) error {
	n.update(o.Order, func(s *story) { s.shipped = &o })
	return nil
}

// Completed notes an order delivered to the carrier.
//
//necro:listens ORDER_COMPLETED
func (n *Notifier) Completed(_ context.Context, o events.OrderCompleted) error {
	n.update(o.Order, func(s *story) { s.closed = "completed" })
	return nil
}

// Cancelled notes an order that could not be paid.
//
//necro:listens ORDER_CANCELLED
func (n *Notifier) Cancelled(_ context.Context, o events.OrderCancelled) error {
	n.update(o.Order, func(s *story) { s.closed = "cancelled: " + o.Reason })
	return nil
}

// WriteStories writes the final stories, one line per order, by order number.
func (n *Notifier) WriteStories(w io.Writer) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	orders := make([]int, 0, len(n.stories))
	for o, s := range n.stories {
		if s.final {
			orders = append(orders, o)
		}
	}
	slices.Sort(orders)
	for _, o := range orders {
		s := n.stories[o]
		p := s.placed
		items := 0
		for _, it := range p.Items {
			items += it.Qty
		}
		line := fmt.Sprintf("order %d for %s: %d %s, %s", o, p.Customer, items, plural(items, "item"), events.Money(p.TotalCents))
		if s.shipped != nil {
			line += fmt.Sprintf(" — paid, shipped by %s (%s), completed", s.shipped.Carrier, s.shipped.Tracking)
		} else {
			line += " — " + s.closed
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
