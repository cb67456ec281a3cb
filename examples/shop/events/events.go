// Package events is what the shop's services share: the payload types of the
// events they exchange, and, generated in necro_gen.go, their event types
// and constructors. It has no handlers; each service package imports it.
package events

//go:generate go tool necrogen

// Item is one line of an order.
type Item struct {
	SKU        string `json:"sku"`
	Qty        int    `json:"qty"`
	PriceCents int    `json:"price_cents"`
}

// OrderPlaced starts an order's story: a customer asked for items.
//
//necro:entry
type OrderPlaced struct {
	Order      int    `json:"order"`
	Customer   string `json:"customer"`
	Items      []Item `json:"items"`
	TotalCents int    `json:"total_cents"`
}

// PaymentProcessed says whether the order was paid.
//
//necro:event
type PaymentProcessed struct {
	Order       int    `json:"order"`
	Approved    bool   `json:"approved"`
	Reason      string `json:"reason,omitempty"`
	AmountCents int    `json:"amount_cents"`
}

// OrderShipped says who carries a paid order.
//
//necro:event
type OrderShipped struct {
	Order    int    `json:"order"`
	Carrier  string `json:"carrier"`
	Tracking string `json:"tracking"`
}

// OrderCompleted ends the story of an order that was paid and shipped.
//
//necro:event
type OrderCompleted struct {
	Order int `json:"order"`
}

// OrderCancelled ends the story of an order that could not be paid.
//
//necro:event
type OrderCancelled struct {
	Order  int    `json:"order"`
	Reason string `json:"reason"`
}
