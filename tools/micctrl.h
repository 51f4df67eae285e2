/* SPDX-License-Identifier: GPL-2.0 */
/*
 * micctrl: helpers shared by the command implementations.
 */
#ifndef MICCTRL_H
#define MICCTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define EXIT_USAGE	2
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NAME_MAX_LEN	32
#define VALUE_MAX	4096

/* Macros, so that the compiler checks every format against fprintf. */
#define err_msg(fmt, ...) \
	fprintf(stderr, "micctrl: " fmt "\n", ##__VA_ARGS__)
#define usage_error(fmt, ...) \
	(err_msg(fmt, ##__VA_ARGS__), print_usage(stderr), EXIT_USAGE)

void print_usage(FILE *out);
bool card_name(const char *arg, char *name);
int check_cards(int argc, char **argv);
int read_attr(const char *card, const char *attr, char *buf, size_t len);
int write_attr(const char *card, const char *attr, const char *value,
	       const char *what);

/* micctrl_log.c */
int cmd_log(int argc, char **argv);

#endif /* MICCTRL_H */
