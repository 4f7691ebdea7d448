#include "vio_kernel.h"
