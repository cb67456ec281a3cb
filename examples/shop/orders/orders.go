// Package orders is the shop's order service: it closes each order's story,
// completed once shipped or cancelled when its payment failed.
package orders

//go:generate go tool necrogen

import "github.com/necrostack/necrostack/examples/shop/events"

// Cancel cancels an order whose payment failed; a paid one goes on.
//
//necro:listens PAYMENT_PROCESSED
func Cancel(p events.PaymentProcessed) *events.OrderCancelled {
	if p.Approved {
		return nil
	}
	return &events.OrderCancelled{Order: p.Order, Reason: p.Reason}
}

// Complete completes an order once it is shipped.
//
//necro:listens ORDER_SHIPPED
func Complete(s events.OrderShipped) events.OrderCompleted {
	return events.OrderCompleted{Order: s.Order}
}
