// Kept for code that includes it: kith::HasMany lives in kith/relations/has_many.hpp.
#pragma once

#include <kith/model.hpp>
#include <kith/relations/has_many.hpp>
