package events

import "fmt"

// Money formats cents as dollars: 4200 is "$42.00".
func Money(cents int) string {
	return fmt.Sprintf("$%d.%02d", cents/100, cents%100)
}
