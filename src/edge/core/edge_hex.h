
/*
 * One hexadecimal digit, as the parsers read them in percent-encoding,
 * CRC-32s, signatures and JSON \u escapes.  Pure C, header only.
 */


#ifndef _EDGE_HEX_H_INCLUDED_
#define _EDGE_HEX_H_INCLUDED_


/* the digit's value, either case; -1 if c is not one */

static inline int
edge_hex_digit(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


#endif /* _EDGE_HEX_H_INCLUDED_ */
