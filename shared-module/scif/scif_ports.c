// SPDX-License-Identifier: GPL-2.0
/*
 * micemu SCIF: port numbers (facts §7.1).
 *
 * A port is taken by bind (or implicitly by connect) and shared, reference
 * counted, by the endpoints scif_accept() creates on a listening port.
 * The table maps a port to its reference count.
 */
#include <linux/xarray.h>

#include "scif_main.h"

#define SCIF_PORT_MAX	0xffff

static DEFINE_XARRAY_ALLOC(scif_ports);

/**
 * scif_port_reserve() - take a given port
 * @port: port number, not 0
 *
 * Return: @port, -EADDRINUSE or -ENOMEM.
 */
int scif_port_reserve(u16 port)
{
	int err = xa_insert(&scif_ports, port, xa_mk_value(1), GFP_KERNEL);

	if (err == -EBUSY)
		return -EADDRINUSE;
	return err ? err : port;
}

/**
 * scif_port_alloc() - take the lowest free port above SCIF_PORT_RSVD
 *
 * Return: the port, -ENOSPC or -ENOMEM.
 */
int scif_port_alloc(void)
{
	u32 port;
	int err;

	err = xa_alloc(&scif_ports, &port, xa_mk_value(1),
		       XA_LIMIT(SCIF_PORT_RSVD + 1, SCIF_PORT_MAX), GFP_KERNEL);
	if (err == -EBUSY)
		return -ENOSPC;
	return err ? err : port;
}

/**
 * scif_port_get() - add a reference to a taken port
 * @port: port number
 */
void scif_port_get(u16 port)
{
	void *entry;

	xa_lock(&scif_ports);
	entry = xa_load(&scif_ports, port);
	if (entry)
		__xa_store(&scif_ports, port,
			   xa_mk_value(xa_to_value(entry) + 1), GFP_ATOMIC);
	xa_unlock(&scif_ports);
}

/**
 * scif_port_put() - drop a reference; the last one frees the port
 * @port: port number
 */
void scif_port_put(u16 port)
{
	unsigned long refs;
	void *entry;

	xa_lock(&scif_ports);
	entry = xa_load(&scif_ports, port);
	if (entry) {
		refs = xa_to_value(entry) - 1;
		if (refs)
			__xa_store(&scif_ports, port, xa_mk_value(refs),
				   GFP_ATOMIC);
		else
			__xa_erase(&scif_ports, port);
	}
	xa_unlock(&scif_ports);
}
