package main

import (
	"bufio"
	"io"
	"math/rand/v2"
	"strconv"
)

var (
	genRegions = []string{
		"Salem", "New Orleans", "Edinburgh", "Prague", "Savannah", "York", "Transylvania", "Whitby",
		"Dublin", "Kraków", "Tallinn", "Bruges", "Valletta", "Quebec City", "Lima", "Oaxaca",
	}
	genProducts = []string{
		"candle", "black candle", "ouija board", "tarot deck", "crystal ball", "sage bundle", "rune set",
		"grimoire", "pendulum", "scrying mirror", "bone dice", "incense", "raven feather", "silver bell",
		"spirit trumpet", "planchette", "séance table", "hourglass", "lantern", "wax seal",
	}
	// malformedRows are mixed in at about one row in a hundred.
	malformedRows = []string{
		"Salem,candle,3",
		",candle,1,4.50",
		"Prague,candle,three,4.50",
		"Prague,candle,1,4,50",
		"Salem,crystal ball,1,1.234",
		"Sal\xffem,candle,1,4.50",
		"Salem,can\"dle,1,4.50",
	}
)

// generateSales writes a header and rows of sales to w, the same ones for
// the same seed: about 1% are malformed, in every way the reader and
// CleanData detect, the rest valid with 16 regions and 20 products.
func generateSales(w io.Writer, rows int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x5A1E5))
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.WriteString("region,product,units,unit_price\n")
	var line []byte
	for range rows {
		if rng.IntN(100) == 0 {
			bw.WriteString(malformedRows[rng.IntN(len(malformedRows))])
			bw.WriteByte('\n')
			continue
		}
		line = append(line[:0], genRegions[rng.IntN(len(genRegions))]...)
		line = append(line, ',')
		line = append(line, genProducts[rng.IntN(len(genProducts))]...)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(1+rng.IntN(500)), 10)
		line = append(line, ',')
		cents := 50 + rng.IntN(20_000)
		line = strconv.AppendInt(line, int64(cents/100), 10)
		line = append(line, '.', byte('0'+cents/10%10), byte('0'+cents%10), '\n')
		bw.Write(line)
	}
	return bw.Flush()
}
