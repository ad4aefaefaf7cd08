/* fastsum: the native part of the fastsum gem. */
#include <ruby.h>
#include <stdint.h>

/* Fastsum.sum(array): the sum of an array of integers. */
static VALUE fastsum_sum(VALUE self, VALUE ary)
{
	long i, n;
	int64_t total = 0;

	Check_Type(ary, T_ARRAY);
	n = RARRAY_LEN(ary);
	for (i = 0; i < n; i++)
		total += NUM2LL(rb_ary_entry(ary, i));
	return LL2NUM(total);
}

/* Fastsum.adler32(string): the Adler-32 checksum of a string. */
static VALUE fastsum_adler32(VALUE self, VALUE str)
{
	const unsigned char *p;
	uint32_t a = 1, b = 0;
	long i, n;

	StringValue(str);
	p = (const unsigned char *)RSTRING_PTR(str);
	n = RSTRING_LEN(str);
	for (i = 0; i < n; i++) {
		a = (a + p[i]) % 65521;
		b = (b + a) % 65521;
	}
	return UINT2NUM((b << 16) | a);
}

void Init_fastsum(void)
{
	VALUE mod = rb_define_module("Fastsum");

	rb_define_const(mod, "GREETING", rb_str_new_cstr("hello from C"));
	rb_define_module_function(mod, "sum", fastsum_sum, 1);
	rb_define_module_function(mod, "adler32", fastsum_adler32, 1);
}
