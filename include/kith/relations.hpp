// Every relation kind: HasMany, HasOne, BelongsTo, HasManyThrough, ManyToMany, MorphMany, MorphOne,
// MorphTo, on the relation layer (kith/relations/core.hpp).
#pragma once

#include <kith/relations/belongs_to.hpp>
#include <kith/relations/core.hpp>
#include <kith/relations/has_many.hpp>
#include <kith/relations/has_many_through.hpp>
#include <kith/relations/has_one.hpp>
#include <kith/relations/many_to_many.hpp>
#include <kith/relations/morph.hpp>
#include <kith/relations/preload.hpp>
