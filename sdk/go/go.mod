module glomers.dev/maelstrom

go 1.24
