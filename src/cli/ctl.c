/* The control subcommands' common part: options, one request and its reply, errors worded
 * once (src/daemon/ctlclient.c says why a connection failed). */
#include "cli/ctl.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/control.h"

static void help(const cli_cmd *cmd)
{
	cli_usage(cmd, stdout);
	fputs("\n", stdout);
	fputs(cmd->help, stdout);
}

int cli_ctl_getopt(const cli_cmd *cmd, int argc, char **argv, unsigned extras, int nargs_min,
		   int nargs_max, cli_ctl_opts *o, int *rc)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "control", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "events", no_argument, NULL, 'e' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ 0, 0, 0, 0 },
	};
	const char *env = getenv("SOFTSA_CONTROL");
	*o = (cli_ctl_opts){ .control = env && *env ? env : CLI_CONTROL_DEFAULT, .interval = 1.0 };
	int c;
	char *end;
	optind = 1;
	opterr = 0;
	/* Options may follow the operands (softsa initiate PEER --json). */
	while ((c = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help(cmd);
			*rc = CLI_OK;
			return -1;
		case 'j': o->json = true; break;
		case 'c': o->control = optarg; break;
		case 'p':
			if (!(extras & CLI_OPT_PROMETHEUS))
				goto bad;
			o->prometheus = true;
			break;
		case 'e':
			if (!(extras & CLI_OPT_MONITOR))
				goto bad;
			o->events = true;
			break;
		case 'i':
			if (!(extras & CLI_OPT_MONITOR))
				goto bad;
			o->interval = strtod(optarg, &end);
			if (*end || !(o->interval >= 0.1 && o->interval <= 3600)) {
				*rc = cli_usage_error(cmd, "--interval takes seconds, 0.1 to 3600");
				return -1;
			}
			break;
		case 'n':
			if (!(extras & CLI_OPT_MONITOR))
				goto bad;
			o->count = strtol(optarg, &end, 10);
			if (*end || o->count < 1) {
				*rc = cli_usage_error(cmd, "--count takes a positive number");
				return -1;
			}
			break;
		default:
			goto bad;
		}
	}
	int n = argc - optind;
	if (n < nargs_min || n > nargs_max) {
		*rc = cli_usage_error(cmd, n < nargs_min ? "missing operand" : "too many operands");
		return -1;
	}
	return optind;
bad:
	*rc = cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
	return -1;
}

/* One request; on failure err says why and code is the daemon's error code, or
 * "no-answer" when softsad did not answer (not running, no permission, timeout). */
static json_t *call(const cli_ctl_opts *o, const char *name, json_t *req, char *code, size_t codelen,
		    char *err, size_t errlen)
{
	if (!req)
		req = json_object();
	json_object_set_new(req, "v", json_integer(1));
	json_object_set_new(req, "cmd", json_string(name));
	json_t *reply = ss_ctl_call(o->control, req, CLI_CTL_TIMEOUT_MS, err, errlen);
	json_decref(req);
	snprintf(code, codelen, "no-answer");
	if (!reply)
		return NULL;
	return cli_ctl_result(reply, code, codelen, err, errlen);
}

json_t *cli_ctl_result(json_t *reply, char *code, size_t codelen, char *err, size_t errlen)
{
	json_t *result = NULL;
	if (json_is_true(json_object_get(reply, "ok")) && json_is_object(json_object_get(reply, "result"))) {
		result = json_incref(json_object_get(reply, "result"));
	} else {
		json_t *e = json_object_get(reply, "error");
		snprintf(code, codelen, "%s", cli_str(e, "code", "error"));
		snprintf(err, errlen, "%s", cli_str(e, "message", "softsad refused the request"));
	}
	json_decref(reply);
	return result;
}

json_t *cli_ctl_try(const cli_ctl_opts *o, const char *name, json_t *req, char *err, size_t errlen)
{
	char code[64], msg[800];
	json_t *r = call(o, name, req, code, sizeof(code), msg, sizeof(msg));
	if (r)
		return r;
	if (strcmp(code, "no-answer") == 0)
		snprintf(err, errlen, "%s", msg);
	else
		snprintf(err, errlen, "%s: %s", code, msg);
	return NULL;
}

json_t *cli_ctl_request(const cli_cmd *cmd, const cli_ctl_opts *o, const char *name, json_t *req)
{
	char code[64], msg[800];
	json_t *r = call(o, name, req, code, sizeof(code), msg, sizeof(msg));
	if (r)
		return r;
	if (strcmp(code, "no-answer") == 0)
		fprintf(stderr, "softsa %s: %s\n", cmd->name, msg);
	else
		fprintf(stderr, "softsa %s: %s: %s\n", cmd->name, code, msg);
	/* With --json the error object too, as the daemon words it ({"code", "message"}). */
	if (o->json)
		cli_print_json(json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg));
	return NULL;
}

int cli_ctl_simple(const cli_cmd *cmd, int argc, char **argv, const char *name,
		   void (*print)(json_t *result, FILE *out))
{
	cli_ctl_opts o;
	int rc;
	if (cli_ctl_getopt(cmd, argc, argv, 0, 0, 0, &o, &rc) < 0)
		return rc;
	json_t *r = cli_ctl_request(cmd, &o, name, NULL);
	if (!r)
		return CLI_FAIL;
	if (o.json) {
		cli_print_json(r);
	} else {
		print(r, stdout);
		json_decref(r);
	}
	return CLI_OK;
}

const char *cli_str(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : dflt;
}

long long cli_num(json_t *v)
{
	if (!json_is_real(v))
		return (long long)json_integer_value(v);
	/* A real outside long long's range (or NaN) has no conversion: C leaves it undefined
	 * (found by fuzz_ctl_reply with 1.5e300). */
	double d = json_real_value(v);
	if (!(d == d))
		return 0;
	if (d >= 0x1p63)
		return LLONG_MAX;
	if (d < -0x1p63)
		return LLONG_MIN;
	return (long long)d;
}

long long cli_int(json_t *o, const char *key)
{
	return cli_num(json_object_get(o, key));
}

char *cli_fmt_dur(long long s, char *buf, size_t len)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
	return buf;
}

char *cli_fmt_bytes(long long b, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	if (b < 1024) {
		snprintf(buf, len, "%lld B", b);
		return buf;
	}
	double v = (double)b / 1024;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}
