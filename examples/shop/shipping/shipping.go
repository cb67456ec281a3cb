// Package shipping is the shop's shipping service: it ships the orders that
// were paid.
package shipping

//go:generate go tool necrogen

import (
	"fmt"
	"strings"

	"github.com/necrostack/necrostack/examples/shop/events"
)

// Warehouse ships paid orders, round-robin over its carriers by order number.
type Warehouse struct {
	Carriers []string
}

// Ship ships an order once it is paid; an unpaid one is not shipped.
//
//necro:listens PAYMENT_PROCESSED
func (w *Warehouse) Ship(p events.PaymentProcessed) *events.OrderShipped {
	if !p.Approved {
		return nil
	}
	carrier := w.Carriers[p.Order%len(w.Carriers)]
	return &events.OrderShipped{Order: p.Order, Carrier: carrier, Tracking: fmt.Sprintf("%s-%04d", initials(carrier), p.Order)}
}

// initials are the first letters of a name's first and last words: "RP" for
// "Raven Post".
func initials(name string) string {
	words := strings.Fields(name)
	return strings.ToUpper(words[0][:1] + words[len(words)-1][:1])
}
