// SPDX-License-Identifier: GPL-2.0
/*
 * micfw control socket: the test harness's handle on the board.
 *
 * Line-based JSON: one request object per line, exactly one reply line
 * per request, several clients at once.  Whatever a client sends, the
 * reply is {"ok":false,"error":"..."} at worst and the connection stays
 * usable; a line longer than CTL_LINE_MAX is answered with an error and
 * skipped up to its newline.  A line must be valid UTF-8 holding exactly
 * one JSON object: anything else is refused before it reaches the parser
 * (json-glib 1.6 leaks on a line holding several values).  Replies are
 * valid JSON whatever the card or the client wrote: control bytes are
 * escaped, strings are valid UTF-8.
 *
 *   {"cmd":"status"}                      board state, see reply_status()
 *   {"cmd":"crash"}                       SIGKILL the card VM
 *   {"cmd":"hang"} / {"cmd":"resume"}     SIGSTOP / SIGCONT its group
 *   {"cmd":"never-ready","value":B}       withhold SPAD2 ready (default true)
 *   {"cmd":"refuse-image","value":B}      bootstrap refuses images (POST E6)
 *   {"cmd":"boot-stall","value":B}        card VMs start frozen
 *   {"cmd":"power-loss"}                  power cycle the board unasked
 *   {"cmd":"spurious-irq","sources":M}    raise host interrupt sources
 *   {"cmd":"card-panic"}                  NMI into the card CPU: it panics
 *   {"cmd":"spad-corrupt","spad":J,"value":V,"at":"now"|"boot"}
 *                                         overwrite SPAD J (now or at the
 *                                         next boot kick)
 *   {"cmd":"link-down","value":B}         the card leaves the host's bus
 *   {"cmd":"doorbell-fault","to":"card"|"host","drop":N,"dup":N}
 *                                         swallow / ring twice doorbells
 *   {"cmd":"dma-error","channel":N}       channel N's next descriptor fails
 *   {"cmd":"ready-delay","ms":N}          reset-to-ready delay
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "micfw.h"

#define CTL_LINE_MAX    65536

struct micfw_ctl_client {
	struct micfw *fw;
	unsigned int id;
	int fd;
	guint src;
	GString *in;
	bool skipping;          /* inside an over-long line */
};

static unsigned int ctl_ids;

typedef bool (*ctl_fn)(struct micfw *fw, JsonObject *req, JsonObject *reply,
		       GError **err);

static void ctl_set_error(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void ctl_set_error(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*err = g_error_new_valist(G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				  fmt, ap);
	va_end(ap);
}

static bool reply_status(struct micfw *fw, JsonObject *req, JsonObject *r,
			 GError **err)
{
	uint32_t pc = micfw_postcode(fw);
	char pc_text[3] = { (char)(pc & 0xff), (char)(pc >> 8 & 0xff), 0 };

	(void)req;
	(void)err;
	json_object_set_int_member(r, "card", fw->index);
	json_object_set_string_member(r, "state", micfw_state_name(fw));
	if (fw->vm_pid)
		json_object_set_int_member(r, "card_vm_pid", fw->vm_pid);
	else
		json_object_set_null_member(r, "card_vm_pid");
	json_object_set_int_member(r, "spad2", mic_regfile_spad(fw->rf, 2));
	json_object_set_int_member(r, "postcode", pc);
	json_object_set_string_member(r, "postcode_text",
				      g_str_is_ascii(pc_text) ? pc_text : "");
	json_object_set_int_member(r, "boots", fw->boots);
	json_object_set_int_member(r, "resets", fw->resets);
	json_object_set_boolean_member(r, "never_ready", fw->never_ready);
	json_object_set_boolean_member(r, "refuse_image", fw->refuse_image);
	json_object_set_boolean_member(r, "boot_stall", fw->boot_stall);
	json_object_set_int_member(r, "spad_faults_armed", fw->spad_fault_mask);
	json_object_set_boolean_member(r, "link_down",
				       mic_regfile_fault_link_down(fw->rf));
	for (int dir = MIC_FAULT_TO_CARD; dir <= MIC_FAULT_TO_HOST; dir++) {
		uint32_t drop, dup;

		mic_regfile_fault_doorbells_left(fw->rf, dir, &drop, &dup);
		json_object_set_int_member(r, dir == MIC_FAULT_TO_CARD ?
					   "doorbells_to_card_drop" :
					   "doorbells_to_host_drop", drop);
		json_object_set_int_member(r, dir == MIC_FAULT_TO_CARD ?
					   "doorbells_to_card_dup" :
					   "doorbells_to_host_dup", dup);
	}
	json_object_set_int_member(r, "dma_errors_armed",
				   mic_regfile_fault_dma_error_armed(fw->rf));
	json_object_set_int_member(r, "ready_delay_ms", fw->ready_delay_ms);
	json_object_set_boolean_member(r, "host_connected", fw->host_conn != NULL);
	json_object_set_boolean_member(r, "card_connected", fw->card_conn != NULL);
	json_object_set_int_member(r, "mem_size", (gint64)fw->mem_size);
	return true;
}

static bool do_crash(struct micfw *fw, JsonObject *req, JsonObject *r,
		     GError **err)
{
	(void)req;
	(void)r;
	return micfw_cardvm_signal(fw, SIGKILL, err);
}

static bool do_hang(struct micfw *fw, JsonObject *req, JsonObject *r,
		    GError **err)
{
	(void)req;
	(void)r;
	return micfw_cardvm_signal(fw, SIGSTOP, err);
}

static bool do_resume(struct micfw *fw, JsonObject *req, JsonObject *r,
		      GError **err)
{
	(void)req;
	(void)r;
	return micfw_cardvm_signal(fw, SIGCONT, err);
}

/*
 * A fault knob: "value" true (the default) or false, stored in *knob,
 * logged as control-NAME and echoed in the reply.
 */
static bool set_knob(JsonObject *req, JsonObject *r, const char *name,
		     const char *member, bool *knob, GError **err)
{
	JsonNode *v = json_object_get_member(req, "value");
	bool value = true;

	if (v) {
		if (!JSON_NODE_HOLDS_VALUE(v) ||
		    json_node_get_value_type(v) != G_TYPE_BOOLEAN) {
			ctl_set_error(err, "\"value\" must be true or false");
			return false;
		}
		value = json_node_get_boolean(v);
	}
	*knob = value;
	micfw_event("control-%s value=%s", name, value ? "true" : "false");
	json_object_set_boolean_member(r, member, value);
	return true;
}

/* Applies from the next power-on or reset; a posted ready stays posted. */
static bool do_never_ready(struct micfw *fw, JsonObject *req, JsonObject *r,
			   GError **err)
{
	return set_knob(req, r, "never-ready", "never_ready", &fw->never_ready,
			err);
}

/*
 * Spurious interrupts: raise host sources (SICR0 bits: doorbells 0-3, DMA
 * 8-15, error 30) with nothing behind them, "count" times (default 1).
 */
static bool do_spurious_irq(struct micfw *fw, JsonObject *req, JsonObject *r,
			    GError **err)
{
	JsonNode *m = json_object_get_member(req, "sources");
	JsonNode *c = json_object_get_member(req, "count");
	gint64 sources, count = 1;

	if (!m || !JSON_NODE_HOLDS_VALUE(m) ||
	    json_node_get_value_type(m) != G_TYPE_INT64 ||
	    (sources = json_node_get_int(m)) <= 0 ||
	    (sources & ~(gint64)MIC_SRC_VALID_MASK)) {
		ctl_set_error(err, "\"sources\" must be a non-zero mask of "
			      "SICR0 sources (0x%x)", MIC_SRC_VALID_MASK);
		return false;
	}
	if (c && (!JSON_NODE_HOLDS_VALUE(c) ||
		  json_node_get_value_type(c) != G_TYPE_INT64 ||
		  (count = json_node_get_int(c)) < 1 || count > 100000)) {
		ctl_set_error(err, "\"count\" must be 1..100000");
		return false;
	}
	micfw_event("control-spurious-irq sources=0x%x count=%u",
		    (unsigned int)sources, (unsigned int)count);
	for (gint64 i = 0; i < count; i++) {
		mic_regfile_host_raise(fw->rf, (uint32_t)sources);
		micfw_kick_host(fw);
	}
	json_object_set_int_member(r, "raised", count);
	return true;
}

/*
 * Power loss: the card OS dies, the card-side registers lose their values
 * and the board powers up again, without the host having asked.
 */
static bool do_power_loss(struct micfw *fw, JsonObject *req, JsonObject *r,
			  GError **err)
{
	(void)req;
	(void)r;
	(void)err;
	micfw_power_reset(fw, "power-loss");
	return true;
}

/*
 * Card kernel panic: an NMI into the card CPU through the card VM's
 * monitor.  The outcome is logged (card-vm-qmp); the card console shows
 * the panic, and with panic=-1 the card VM exits right after it.
 */
static bool do_card_panic(struct micfw *fw, JsonObject *req, JsonObject *r,
			  GError **err)
{
	(void)req;
	if (!micfw_cardvm_nmi(fw, err))
		return false;
	json_object_set_string_member(r, "nmi", "sent");
	return true;
}

/* An unsigned 32-bit integer member, or an error naming it. */
static bool get_u32(JsonObject *req, const char *name, uint32_t *out,
		    GError **err)
{
	JsonNode *v = json_object_get_member(req, name);
	gint64 x;

	if (!v || !JSON_NODE_HOLDS_VALUE(v) ||
	    json_node_get_value_type(v) != G_TYPE_INT64 ||
	    (x = json_node_get_int(v)) < 0 || x > G_MAXUINT32) {
		ctl_set_error(err, "\"%s\" must be an integer 0..%u", name,
			      G_MAXUINT32);
		return false;
	}
	*out = (uint32_t)x;
	return true;
}

/*
 * SPAD corruption: SPAD "spad" gets "value", "at" "now" (the default) or
 * at the next boot kick ("boot"), after the host wrote its SPADs.
 */
static bool do_spad_corrupt(struct micfw *fw, JsonObject *req, JsonObject *r,
			    GError **err)
{
	JsonNode *at = json_object_get_member(req, "at");
	const char *when = "now";
	uint32_t spad, value;

	if (!get_u32(req, "spad", &spad, err) ||
	    !get_u32(req, "value", &value, err))
		return false;
	if (spad >= MIC_NUM_SPAD) {
		ctl_set_error(err, "\"spad\" must be 0..%u", MIC_NUM_SPAD - 1);
		return false;
	}
	if (at) {
		if (!JSON_NODE_HOLDS_VALUE(at) ||
		    json_node_get_value_type(at) != G_TYPE_STRING ||
		    (strcmp(json_node_get_string(at), "now") &&
		     strcmp(json_node_get_string(at), "boot"))) {
			ctl_set_error(err, "\"at\" must be \"now\" or \"boot\"");
			return false;
		}
		when = json_node_get_string(at);
	}
	micfw_spad_corrupt(fw, spad, value, !strcmp(when, "boot"));
	json_object_set_int_member(r, "spad", spad);
	json_object_set_int_member(r, "value", value);
	json_object_set_string_member(r, "at", when);
	return true;
}

/*
 * Link down: the card falls off the host's bus (the host device reads all
 * ones and drops writes on both BARs and config space, no interrupts; the
 * card's window onto host memory and its DMA engine's host-bus accesses
 * fail) while the card runs on; false puts it back.  Both devices are
 * rung so that they look at once.
 */
static bool do_link_down(struct micfw *fw, JsonObject *req, JsonObject *r,
			 GError **err)
{
	bool down;

	if (!set_knob(req, r, "link-down", "link_down", &down, err))
		return false;
	mic_regfile_fault_set_link_down(fw->rf, down);
	micfw_kick_host(fw);
	/* the card device cuts (or restores) its window onto host memory */
	if (write(fw->efd_to_card, &(uint64_t){ 1 }, sizeof(uint64_t)) !=
	    sizeof(uint64_t))
		micfw_event("to-card-kick-failed error=\"%s\"", g_strerror(errno));
	return true;
}

/* An optional count member 0..1000000 (absent: 0). */
static bool get_count(JsonObject *req, const char *name, uint32_t *out,
		      GError **err)
{
	JsonNode *v = json_object_get_member(req, name);
	gint64 x;

	*out = 0;
	if (!v)
		return true;
	if (!JSON_NODE_HOLDS_VALUE(v) ||
	    json_node_get_value_type(v) != G_TYPE_INT64 ||
	    (x = json_node_get_int(v)) < 0 || x > 1000000) {
		ctl_set_error(err, "\"%s\" must be 0..1000000", name);
		return false;
	}
	*out = (uint32_t)x;
	return true;
}

/*
 * Doorbell faults in one direction ("to": "card" = APICICR/RDMASR rung by
 * the host or a peer, "host" = SDBIC rung by the card): the next "drop"
 * doorbells are swallowed, the "dup" after them are rung twice.  Replaces
 * what was left of an earlier request; 0 and 0 disarm.
 */
static bool do_doorbell_fault(struct micfw *fw, JsonObject *req,
			      JsonObject *r, GError **err)
{
	JsonNode *to = json_object_get_member(req, "to");
	uint32_t drop, dup;
	MicFaultDir dir;

	if (!to || !JSON_NODE_HOLDS_VALUE(to) ||
	    json_node_get_value_type(to) != G_TYPE_STRING ||
	    (strcmp(json_node_get_string(to), "card") &&
	     strcmp(json_node_get_string(to), "host"))) {
		ctl_set_error(err, "\"to\" must be \"card\" or \"host\"");
		return false;
	}
	dir = strcmp(json_node_get_string(to), "card") ? MIC_FAULT_TO_HOST :
							  MIC_FAULT_TO_CARD;
	if (!get_count(req, "drop", &drop, err) ||
	    !get_count(req, "dup", &dup, err))
		return false;
	mic_regfile_fault_doorbells(fw->rf, dir, drop, dup);
	micfw_event("control-doorbell-fault to=%s drop=%u dup=%u",
		    json_node_get_string(to), drop, dup);
	json_object_set_string_member(r, "to", json_node_get_string(to));
	json_object_set_int_member(r, "drop", drop);
	json_object_set_int_member(r, "dup", dup);
	return true;
}

/* The next descriptor of DMA channel "channel" (0-7) fails (bus error). */
static bool do_dma_error(struct micfw *fw, JsonObject *req, JsonObject *r,
			 GError **err)
{
	uint32_t ch;

	if (!get_u32(req, "channel", &ch, err))
		return false;
	if (ch >= MIC_NUM_DMA_CH) {
		ctl_set_error(err, "\"channel\" must be 0..%u",
			      MIC_NUM_DMA_CH - 1);
		return false;
	}
	mic_regfile_fault_dma_error(fw->rf, 1u << ch);
	micfw_event("control-dma-error channel=%u", ch);
	json_object_set_int_member(r, "channel", ch);
	return true;
}

/* The bootstrap refuses the next images it is kicked to boot (POST E6). */
static bool do_refuse_image(struct micfw *fw, JsonObject *req, JsonObject *r,
			    GError **err)
{
	return set_knob(req, r, "refuse-image", "refuse_image",
			&fw->refuse_image, err);
}

/* The next card VMs start frozen: booting, never reaching the card OS. */
static bool do_boot_stall(struct micfw *fw, JsonObject *req, JsonObject *r,
			  GError **err)
{
	return set_knob(req, r, "boot-stall", "boot_stall", &fw->boot_stall,
			err);
}

static bool do_ready_delay(struct micfw *fw, JsonObject *req, JsonObject *r,
			   GError **err)
{
	JsonNode *v = json_object_get_member(req, "ms");
	gint64 ms;

	if (!v || !JSON_NODE_HOLDS_VALUE(v) ||
	    json_node_get_value_type(v) != G_TYPE_INT64) {
		ctl_set_error(err, "\"ms\" must be an integer");
		return false;
	}
	ms = json_node_get_int(v);
	if (ms < 0 || ms > MICFW_MAX_READY_MS) {
		ctl_set_error(err, "\"ms\" must be 0..%u", MICFW_MAX_READY_MS);
		return false;
	}
	fw->ready_delay_ms = (unsigned int)ms;
	micfw_event("control-ready-delay ms=%u", fw->ready_delay_ms);
	json_object_set_int_member(r, "ready_delay_ms", ms);
	return true;
}

static const struct {
	const char *name;
	ctl_fn fn;
} ctl_cmds[] = {
	{ "status", reply_status },
	{ "crash", do_crash },
	{ "hang", do_hang },
	{ "resume", do_resume },
	{ "never-ready", do_never_ready },
	{ "refuse-image", do_refuse_image },
	{ "boot-stall", do_boot_stall },
	{ "power-loss", do_power_loss },
	{ "spurious-irq", do_spurious_irq },
	{ "card-panic", do_card_panic },
	{ "spad-corrupt", do_spad_corrupt },
	{ "link-down", do_link_down },
	{ "doorbell-fault", do_doorbell_fault },
	{ "dma-error", do_dma_error },
	{ "ready-delay", do_ready_delay },
};

static ctl_fn find_cmd(JsonNode *root, const char **name, GError **err)
{
	JsonNode *cmd;

	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		ctl_set_error(err, "request must be a JSON object");
		return NULL;
	}
	cmd = json_object_get_member(json_node_get_object(root), "cmd");
	if (!cmd || !JSON_NODE_HOLDS_VALUE(cmd) ||
	    json_node_get_value_type(cmd) != G_TYPE_STRING) {
		ctl_set_error(err, "missing string member \"cmd\"");
		return NULL;
	}
	*name = json_node_get_string(cmd);
	for (unsigned int i = 0; i < G_N_ELEMENTS(ctl_cmds); i++)
		if (!strcmp(ctl_cmds[i].name, *name))
			return ctl_cmds[i].fn;
	ctl_set_error(err, "unknown cmd \"%s\"", *name);
	return NULL;
}

/*
 * Is @line one JSON object and nothing else but blanks?  Only the
 * object's extent is checked here (braces outside strings, string escapes);
 * the parser judges its content.
 */
static bool one_object(const char *line, gssize len, GError **err)
{
	gssize i = 0, depth = 0;
	bool in_str = false;

	if (!g_utf8_validate(line, len, NULL)) {
		ctl_set_error(err, "request is not valid UTF-8");
		return false;
	}
	while (i < len && g_ascii_isspace(line[i]))
		i++;
	if (i == len || line[i] != '{') {
		ctl_set_error(err, "request must be a JSON object");
		return false;
	}
	for (; i < len; i++) {
		char c = line[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			break;
	}
	for (i++; i < len; i++) {
		if (!g_ascii_isspace(line[i])) {
			ctl_set_error(err, "one JSON object per line");
			return false;
		}
	}
	return true;
}

/*
 * json-glib leaves control bytes below 0x20 other than \b\f\n\r\t raw in
 * strings (a card can put 0x1f in its POST code).  Outside strings the
 * compact generator emits none, so escaping every one of them is safe.
 */
static char *to_line(JsonObject *reply)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	g_autofree char *text = NULL;
	GString *out;

	json_node_set_object(node, reply);
	json_generator_set_root(gen, node);
	text = json_generator_to_data(gen, NULL);
	out = g_string_sized_new(strlen(text) + 16);
	for (const char *p = text; *p; p++) {
		if ((unsigned char)*p < 0x20)
			g_string_append_printf(out, "\\u%04x", (unsigned char)*p);
		else
			g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

/* A string member that is valid UTF-8 whatever @text holds. */
static void set_text_member(JsonObject *o, const char *name, const char *text)
{
	g_autofree char *valid = g_utf8_make_valid(text, -1);

	json_object_set_string_member(o, name, valid);
}

/* One request line in, one reply line out (without the newline). */
static char *handle_line(struct micfw_ctl_client *cl, const char *line,
			 gssize len)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(JsonObject) reply = json_object_new();
	g_autoptr(GError) err = NULL;
	const char *name = NULL;
	ctl_fn fn = NULL;
	bool ok = false;

	/* "ok" goes first: members keep their insertion order */
	json_object_set_boolean_member(reply, "ok", false);
	if (one_object(line, len, &err) &&
	    json_parser_load_from_data(parser, line, len, &err))
		fn = find_cmd(json_parser_get_root(parser), &name, &err);
	if (fn) {
		JsonObject *req = json_node_get_object(json_parser_get_root(parser));

		if (strcmp(name, "status"))
			micfw_event("control-cmd client=%u cmd=%s", cl->id, name);
		ok = fn(cl->fw, req, reply, &err);
	}
	json_object_set_boolean_member(reply, "ok", ok);
	if (!ok) {
		g_autofree char *q = micfw_quote(err->message);

		micfw_event("control-error client=%u text=%s", cl->id, q);
		set_text_member(reply, "error", err->message);
	}
	return to_line(reply);
}

static void client_close(struct micfw_ctl_client *cl, const char *why)
{
	struct micfw *fw = cl->fw;
	g_autofree char *q = micfw_quote(why);

	micfw_event("control-close client=%u reason=%s", cl->id, q);
	if (cl->src)
		g_source_remove(cl->src);
	close(cl->fd);
	g_string_free(cl->in, TRUE);
	fw->ctl_clients = g_list_remove(fw->ctl_clients, cl);
	g_free(cl);
}

static bool client_reply(struct micfw_ctl_client *cl, const char *text)
{
	g_autofree char *line = g_strconcat(text, "\n", NULL);
	size_t len = strlen(line), off = 0;

	/* replies are short; a client that does not read is dropped */
	while (off < len) {
		ssize_t n = send(cl->fd, line + off, len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		off += n;
	}
	return true;
}

static bool reply_error(struct micfw_ctl_client *cl, const char *msg)
{
	g_autoptr(JsonObject) reply = json_object_new();
	g_autofree char *line = NULL;
	g_autofree char *q = micfw_quote(msg);

	micfw_event("control-error client=%u text=%s", cl->id, q);
	json_object_set_boolean_member(reply, "ok", false);
	set_text_member(reply, "error", msg);
	line = to_line(reply);
	return client_reply(cl, line);
}

/* Answer every complete line in the input buffer. */
static bool client_process(struct micfw_ctl_client *cl)
{
	char *nl;

	while ((nl = memchr(cl->in->str, '\n', cl->in->len))) {
		gssize len = nl - cl->in->str;
		bool skipped = cl->skipping;

		cl->skipping = false;
		if (!skipped && len && cl->in->str[len - 1] == '\r')
			len--;
		if (!skipped) {
			g_autofree char *reply = handle_line(cl, cl->in->str, len);

			if (!client_reply(cl, reply))
				return false;
		}
		g_string_erase(cl->in, 0, nl - cl->in->str + 1);
	}
	if (cl->in->len > CTL_LINE_MAX) {
		g_string_truncate(cl->in, 0);
		if (!cl->skipping && !reply_error(cl, "request line too long"))
			return false;
		cl->skipping = true;
	}
	return true;
}

static gboolean client_readable(int fd, GIOCondition cond, gpointer data)
{
	struct micfw_ctl_client *cl = data;
	char buf[4096];
	ssize_t n;

	(void)cond;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		client_close(cl, n < 0 ? g_strerror(errno) : "hang-up");
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(cl->in, buf, n);
	if (!client_process(cl)) {
		client_close(cl, "cannot send reply");
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean ctl_accept(int lfd, GIOCondition cond, gpointer data)
{
	struct micfw *fw = data;
	int fd;

	(void)cond;
	while ((fd = accept4(lfd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct micfw_ctl_client *cl = g_new0(struct micfw_ctl_client, 1);

		cl->fw = fw;
		cl->id = ++ctl_ids;
		cl->fd = fd;
		cl->in = g_string_new(NULL);
		cl->src = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
					client_readable, cl);
		fw->ctl_clients = g_list_prepend(fw->ctl_clients, cl);
		micfw_event("control-accept client=%u", cl->id);
	}
	return G_SOURCE_CONTINUE;
}

bool micfw_control_start(struct micfw *fw, GError **err)
{
	fw->ctl_listen_fd = micfw_unix_listen(fw->control_path, err);
	if (fw->ctl_listen_fd < 0)
		return false;
	fw->ctl_listen_src = g_unix_fd_add(fw->ctl_listen_fd, G_IO_IN,
					   ctl_accept, fw);
	micfw_event("control-listen path=%s", fw->control_path);
	return true;
}

void micfw_control_stop(struct micfw *fw)
{
	while (fw->ctl_clients)
		client_close(fw->ctl_clients->data, "micfw stopping");
	if (fw->ctl_listen_src)
		g_source_remove(fw->ctl_listen_src);
	fw->ctl_listen_src = 0;
	if (fw->ctl_listen_fd >= 0) {
		close(fw->ctl_listen_fd);
		unlink(fw->control_path);
	}
	fw->ctl_listen_fd = -1;
}
