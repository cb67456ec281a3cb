// Package payments is the shop's payment service: it charges every order
// placed.
package payments

//go:generate go tool necrogen

import (
	"context"
	"fmt"

	"github.com/necrostack/necrostack/examples/shop/events"
)

// Gateway charges orders. It refuses customers on its blocklist and orders
// over its limit.
type Gateway struct {
	LimitCents int
	Blocked    map[string]bool
}

// Charge decides an order's payment.
//
//necro:listens ORDER_PLACED
func (g *Gateway) Charge(_ context.Context, o events.OrderPlaced) (events.PaymentProcessed, error) {
	p := events.PaymentProcessed{Order: o.Order, Approved: true, AmountCents: o.TotalCents}
	switch {
	case g.Blocked[o.Customer]:
		p.Approved, p.Reason = false, "card refused"
	case o.TotalCents > g.LimitCents:
		p.Approved, p.Reason = false, fmt.Sprintf("over the limit of %s", events.Money(g.LimitCents))
	}
	return p, nil
}
